"""toysuper: toy models of superposition, thousands at once, with JAX.

Reproduces Elhage et al., "Toy Models of Superposition" (2022) and Henighan et al.,
"Superposition, Memorization, and Double Descent" (2023).

The names below load on first use, so that `toysuper --help` and other light commands do not
import JAX.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from toysuper.provenance import __version__

if TYPE_CHECKING:
    from toysuper.config import TrainConfig
    from toysuper.data import FeatureSets
    from toysuper.hyper import Hyper, decaying_importance, power_space
    from toysuper.launch import Launcher, launch_sweep
    from toysuper.models import MODEL_KINDS, ModelConfig, ModelKind, register_kind
    from toysuper.objectives import (
        AdversarialBatches,
        FixedDataset,
        FreshBatches,
        Objective,
        OneHotDataset,
        OneHotLoss,
        PopulationLoss,
        SourceModels,
        SparseAutoencoderTraining,
    )
    from toysuper.results import Result, load
    from toysuper.run import run_sweep
    from toysuper.sweep import Axis, Sweep
    from toysuper.training import train

_HOMES = {
    "TrainConfig": "config", "FeatureSets": "data", "Axis": "sweep", "Sweep": "sweep",
    "Hyper": "hyper", "decaying_importance": "hyper", "power_space": "hyper",
    "MODEL_KINDS": "models", "ModelConfig": "models", "ModelKind": "models",
    "register_kind": "models", "AdversarialBatches": "objectives", "FixedDataset": "objectives",
    "FreshBatches": "objectives", "Objective": "objectives", "OneHotLoss": "objectives",
    "OneHotDataset": "objectives",
    "PopulationLoss": "objectives", "SourceModels": "objectives",
    "SparseAutoencoderTraining": "objectives", "Result": "results", "load": "results",
    "run_sweep": "run", "train": "training", "Launcher": "launch", "launch_sweep": "launch",
}


def __getattr__(name: str):
    if name in _HOMES:
        value = getattr(importlib.import_module(f"toysuper.{_HOMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'toysuper' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "MODEL_KINDS", "AdversarialBatches", "Axis", "FeatureSets", "FixedDataset", "FreshBatches",
    "Hyper", "Launcher", "ModelConfig", "ModelKind", "Objective", "OneHotDataset", "OneHotLoss",
    "PopulationLoss",
    "Result", "SourceModels", "SparseAutoencoderTraining", "Sweep", "TrainConfig", "__version__",
    "decaying_importance", "launch_sweep", "load", "power_space", "register_kind", "run_sweep",
    "train",
]
