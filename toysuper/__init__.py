"""toysuper: toy models of superposition, thousands at once, with JAX.

Reproduces Elhage et al., "Toy Models of Superposition" (2022) and Henighan et al.,
"Superposition, Memorization, and Double Descent" (2023).
"""

from toysuper.config import (
    DatasetConfig,
    FeatureSets,
    Hyper,
    ModelConfig,
    TrainConfig,
    decaying_importance,
    power_space,
)
from toysuper.models import MODEL_KINDS, ModelKind, register_kind
from toysuper.provenance import __version__
from toysuper.results import Result, load
from toysuper.sweep import Axis, Sweep, run_sweep
from toysuper.train import train

__all__ = [
    "MODEL_KINDS",
    "Axis",
    "DatasetConfig",
    "FeatureSets",
    "Hyper",
    "ModelConfig",
    "ModelKind",
    "Result",
    "Sweep",
    "TrainConfig",
    "__version__",
    "decaying_importance",
    "load",
    "power_space",
    "register_kind",
    "run_sweep",
    "train",
]
