"""Fresh batches: each step draws a new batch of the model kind's inputs (TMS section 2), or of
correlated and anticorrelated sets of features (TMS section 6)."""

from __future__ import annotations

import dataclasses
import functools
import numbers
from typing import Any, ClassVar

import jax

from toysuper.data import FeatureSets, sample_feature_sets_feature_major
from toysuper.models import (
    MODEL_KINDS,
    ModelConfig,
    uses_feature_major,
    weighted_mse,
    weighted_mse_feature_major,
)
from toysuper.objectives.base import Objective, Values
from toysuper.validate import require


def _rows_loss(params, xt, importance, kind, xt_in=None):
    """`weighted_mse` of a feature-major batch, computed in row layout."""
    return weighted_mse(params, xt.T, importance, kind, None if xt_in is None else xt_in.T)


@dataclasses.dataclass(frozen=True)
class FreshBatches(Objective):
    """A fresh batch of `batch_size` samples at every step, drawn from fold_in(data_key, t):
    the model kind's own inputs (`ModelKind.sample`), or `feature_sets`. The default objective.

    Args:
      feature_sets: None for the kind's inputs (independent features); a
        `toysuper.data.FeatureSets` for correlated and anticorrelated sets of features
        (reconstruction kinds on sparse uniform inputs only).
      magnitude: every input is scaled by it: an active feature is U[0, magnitude) (1: TMS;
        2: Liu, Liu and Gore 2025).
    """

    feature_sets: FeatureSets | None = None
    magnitude: float = 1.0
    name: ClassVar[str] = "fresh_batches"

    def __post_init__(self):
        if isinstance(self.feature_sets, dict):  # from JSON
            object.__setattr__(self, "feature_sets", FeatureSets(**self.feature_sets))
        require(self.feature_sets is None or isinstance(self.feature_sets, FeatureSets),
                "feature_sets", self.feature_sets, "None or a FeatureSets")
        require(isinstance(self.magnitude, numbers.Real) and not isinstance(self.magnitude, bool)
                and 0 < self.magnitude < float("inf"), "magnitude", self.magnitude,
                "a finite number > 0")
        object.__setattr__(self, "magnitude", float(self.magnitude))

    @property
    def tms_inputs(self) -> bool:
        return self.feature_sets is None and self.magnitude == 1

    def check(self, model: ModelConfig, values: Values) -> None:
        super().check(model, values)
        sets = self.feature_sets
        if sets is not None:
            require(sets.n_features == model.n_features, "feature_sets", sets.sets,
                    f"sets whose sizes sum to n_features={model.n_features}")
            require(MODEL_KINDS[model.kind].reconstructs_sparse_uniform, "model.kind",
                    model.kind, "a reconstruction kind with uniform inputs for feature_sets "
                    "(linear, relu_output, relu_hidden)")

    def model_inputs(self, batch_key: jax.Array, params, xt: jax.Array, hyper):
        """What the model sees instead of the clean batch `xt` (None: `xt` itself)."""
        return None

    def loss(self, data_key, hyper, model: ModelConfig, batch_size: int, shared: Any = None):
        sample = MODEL_KINDS[model.kind].sample
        if self.feature_sets is not None:
            sample = functools.partial(sample_feature_sets_feature_major,
                                       feature_sets=self.feature_sets)
        # kinds with a feature-major apply run on the batch as drawn; others in row layout
        batch_loss = weighted_mse_feature_major if uses_feature_major(model) else _rows_loss

        def fresh_batch(params, t):
            batch_key = jax.random.fold_in(data_key, t)
            xt = sample(batch_key, hyper.feature_probability, batch_size)
            if self.magnitude != 1:
                xt = self.magnitude * xt
            xt_in = self.model_inputs(batch_key, params, xt, hyper)
            return batch_loss(params, xt, hyper.importance, model.kind, xt_in)

        return fresh_batch

    def to_dict(self) -> dict:
        return (({} if self.feature_sets is None
                 else {"feature_sets": dataclasses.asdict(self.feature_sets)})
                | ({} if self.magnitude == 1 else {"magnitude": self.magnitude}))

    @classmethod
    def from_dict(cls, d: dict) -> FreshBatches | None:
        """Any entries (it is the default); a subclass must define its own."""
        return (cls(d.get("feature_sets"), d.get("magnitude", 1.0)) if cls is FreshBatches
                else None)
