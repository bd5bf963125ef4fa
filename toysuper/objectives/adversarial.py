"""Adversarial training (TMS section 7): each sample of a fresh batch attacked on one feature."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax

from toysuper.attacks import attacked_feature_major
from toysuper.models import MODEL_KINDS, ModelConfig
from toysuper.objectives.base import Values
from toysuper.objectives.sampled import FreshBatches
from toysuper.validate import require

ATTACK_STREAM = 2**31 - 1  # fold_in data of a batch key giving its training attack's key


@dataclasses.dataclass(frozen=True)
class AdversarialBatches(FreshBatches):
    """Fresh batches in which each sample gets the analytic attack (`toysuper.attacks`) on one
    uniformly drawn feature, of norm `Hyper.attack_norm` x the batch's mean input norm; the
    target stays the clean sample. Tied kinds x' = act(x W W^T + b) only (linear, relu_output).
    """

    name: ClassVar[str] = "adversarial_batches"
    fields: ClassVar[tuple[str, ...]] = ("attack_norm",)

    @property
    def tms_inputs(self) -> bool:
        return False

    def check(self, model: ModelConfig, values: Values) -> None:
        super().check(model, values)
        require(MODEL_KINDS[model.kind].output_activation is not None, "model.kind", model.kind,
                "a tied kind x' = act(x W W^T + b) for adversarial training "
                "(linear, relu_output)")

    def model_inputs(self, batch_key: jax.Array, params, xt: jax.Array, hyper):
        attack_key = jax.random.fold_in(batch_key, ATTACK_STREAM)
        return attacked_feature_major(attack_key, params.W, xt, hyper.attack_norm)

    def to_dict(self) -> dict:
        return {"adversarial": True, **super().to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> AdversarialBatches | None:
        return (cls(d.get("feature_sets"), d.get("magnitude", 1.0))
                if cls is AdversarialBatches and d.get("adversarial") else None)
