"""toysuper: toy models of superposition, thousands at once, with JAX.

Reproduces Elhage et al., "Toy Models of Superposition" (2022) and Henighan et al.,
"Superposition, Memorization, and Double Descent" (2023).
"""

from toysuper.config import TrainConfig
from toysuper.data import FeatureSets
from toysuper.grid import Axis, Sweep
from toysuper.hyper import Hyper, decaying_importance, power_space
from toysuper.models import MODEL_KINDS, ModelConfig, ModelKind, register_kind
from toysuper.objectives import (
    AdversarialBatches,
    FixedDataset,
    FreshBatches,
    Objective,
    OneHotLoss,
    PopulationLoss,
    SourceModels,
    SparseAutoencoderTraining,
)
from toysuper.provenance import __version__
from toysuper.results import Result, load
from toysuper.sweep import run_sweep
from toysuper.train import train

__all__ = [
    "MODEL_KINDS",
    "AdversarialBatches",
    "Axis",
    "FeatureSets",
    "FixedDataset",
    "FreshBatches",
    "Hyper",
    "ModelConfig",
    "ModelKind",
    "Objective",
    "OneHotLoss",
    "PopulationLoss",
    "Result",
    "SourceModels",
    "SparseAutoencoderTraining",
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
