"""Analysis of trained weights: pure array functions that accept any leading axes."""

from toysuper.analysis.geometry import (
    dimensions_per_feature,
    feature_dimensionality,
    feature_norms,
    interference,
    represented,
    superposition,
)

__all__ = [
    "dimensions_per_feature",
    "feature_dimensionality",
    "feature_norms",
    "interference",
    "represented",
    "superposition",
]
