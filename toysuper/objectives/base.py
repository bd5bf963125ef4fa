"""The seam every way of training goes through: an `Objective` gives one model's loss per step.

A run's static `TrainConfig` holds what every run has (steps, batch size, schedule, logging,
snapshots) and one objective; `toysuper.training` takes the gradient of whatever loss the objective
returns and never asks which objective it is. An objective is a frozen dataclass (its own static
config, part of the compile key) that says:

    name, fields      its name, and the `Hyper` fields only it reads (traced, sweepable)
    check             whether it can train a model kind with a sweep's values (clear errors)
    data_key          the key its data is drawn from (default: the model's own data key)
    shared            arrays every model reads (e.g. trained source models), passed to the
                      compiled program as data rather than baked into it
    loss              (params, step t) -> the loss of step t; `loss_and_grad` differentiates it
    rows, row_words   the rows a step touches and their size, for the memory estimate
    to_dict           its entries in the config (what the config hash covers)

A new objective is one new module with a subclass; training needs nothing else, and
`toysuper.objectives.register_objective` makes its saved configs loadable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import numpy as np

from toysuper.models import MODEL_KINDS, ModelConfig
from toysuper.validate import require

Values = Callable[[str], list[np.ndarray]]  # field -> the arrays (points, ...) a sweep gives it


@dataclasses.dataclass(frozen=True)
class Objective:
    """How a model's loss is produced at each step (subclass it; see the module docstring).

    Class attributes:
      name: the objective's name in listings and errors.
      fields: the `Hyper` fields only this objective reads; a sweep of another objective that
        sets one is refused.
      deterministic: the loss is the same at every step (no sampling), so one evaluation of it
        ranks models without noise.
      tms_inputs: it trains on TMS's sparse uniform inputs as they are, so the exact
        population loss measures what it optimises.
    """

    name: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ()
    deterministic: ClassVar[bool] = False
    tms_inputs: ClassVar[bool] = False
    reads_activations: ClassVar[bool] = False  # trains dictionary kinds (sparse autoencoders)

    def check(self, model: ModelConfig, values: Values) -> None:
        """Raise ValueError naming the field if this objective cannot train `model` with the
        values a sweep gives each `Hyper` field (`values(field)`: arrays with a leading points
        axis; per-feature fields (points, n_features))."""
        kind = MODEL_KINDS[model.kind]
        require(kind.dictionary == self.reads_activations, "model.kind", model.kind,
                f"a kind that {self.name} can train: " + (
                    "a sparse autoencoder (sae_relu, sae_topk)" if self.reads_activations else
                    "sparse autoencoders train with objective=SparseAutoencoderTraining("
                    "source), the source models whose activations they read"))

    def data_key(self, key: jax.Array, hyper) -> jax.Array:
        """The key the model's data is drawn from, given its own data key."""
        return key

    def shared(self) -> Any:
        """Arrays every model of a run reads (a pytree), or None."""
        return None

    def static(self) -> Objective:
        """This objective without the arrays `shared` passes as data (the compile key)."""
        return self

    def loss(self, data_key: jax.Array, hyper, model: ModelConfig, batch_size: int,
             shared: Any = None) -> Callable[[Any, jax.Array], jax.Array]:
        """(params, step t) -> the loss of step t for one model."""
        raise NotImplementedError

    def loss_and_grad(self, data_key: jax.Array, hyper, model: ModelConfig, batch_size: int,
                      shared: Any = None):
        """(params, step t) -> (loss, gradient of the loss in params)."""
        return jax.value_and_grad(self.loss(data_key, hyper, model, batch_size, shared))

    def rows(self, model: ModelConfig, batch_size: int) -> int:
        """Input rows one step processes per model."""
        return batch_size

    def row_words(self, model: ModelConfig) -> int:
        """4-byte words one row takes in a step's working set (inputs, activations, errors)."""
        return 8 * model.n_features + 4 * model.n_hidden

    def bytes_per_model(self, model: ModelConfig, batch_size: int) -> int:
        """Rough working set of one model's training step: its rows, gradients and params."""
        n, m = model.n_features, model.n_hidden
        return 4 * (self.rows(model, batch_size) * self.row_words(model) + 8 * n * m + 8 * n)

    def to_dict(self) -> dict:
        """Its entries in a `TrainConfig`'s JSON form (what the config hash covers)."""
        return {}

    @classmethod
    def from_dict(cls, d: dict) -> Objective | None:
        """The objective a config's entries describe, if they describe this class; else None."""
        return None
