"""Sparse autoencoders trained on the hidden activations of trained toy models (`toysuper.sae`).

The toy models are data, not static config: `SparseAutoencoderTraining.shared` hands their weights
to the compiled program as an argument, so SAEs on other toy models of the same shapes reuse it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from toysuper.data import sample_sparse_uniform_feature_major
from toysuper.models import ModelConfig
from toysuper.objectives.base import Objective, Values
from toysuper.sae import sae_loss
from toysuper.validate import require, show


@dataclasses.dataclass(frozen=True, eq=False)
class SourceModels:
    """The toy models whose hidden activations SAEs train on.

    Activations of model k are h = x W_k with x sparse uniform at density feature_probability[k]
    (TMS inputs). `Hyper.source_index` picks the model, so SAEs on different toy models share
    one compiled sweep. Equal (and hashed) by content.

    Args:
      W: (k, n, m) the toy models' weights (stored as a read-only float32 array).
      feature_probability: (k,) their feature densities.
    """

    W: np.ndarray
    feature_probability: np.ndarray
    _digest: str = dataclasses.field(init=False, repr=False)

    def __post_init__(self):
        W = np.array(self.W, np.float32)
        p = np.array(self.feature_probability, np.float32)
        require(W.ndim == 3 and len(W) >= 1 and bool(np.all(np.isfinite(W))), "source.W",
                W.shape, "(models, n_features, n_hidden) finite weights, at least one model")
        require(p.shape == (len(W),) and bool(np.all((p > 0) & (p <= 1))),
                "source.feature_probability", p.tolist(), f"{len(W)} densities in (0, 1]")
        W.flags.writeable = p.flags.writeable = False
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "feature_probability", p)
        object.__setattr__(self, "_digest", hashlib.sha256(
            W.tobytes() + p.tobytes() + str(W.shape).encode()).hexdigest())

    @classmethod
    def from_arrays(cls, W, feature_probability) -> SourceModels:
        return cls(W, feature_probability)

    @property
    def n_hidden(self) -> int:
        return self.W.shape[2]

    def __len__(self) -> int:
        return len(self.W)

    def __eq__(self, other) -> bool:
        return isinstance(other, SourceModels) and self._digest == other._digest

    def __hash__(self) -> int:
        return hash(self._digest)

    def to_dict(self) -> dict:
        return {"W": self.W.tolist(), "feature_probability": self.feature_probability.tolist()}


def sample_activations(key: jax.Array, source, index, batch_size: int
                       ) -> Float[Array, "batch hidden"]:
    """h = x W_index for a batch of sparse uniform x at the source model's density.

    `source` is a `SourceModels` or its arrays (`SparseAutoencoderTraining.shared`).
    """
    W = jnp.asarray(source.W if isinstance(source, SourceModels) else source["W"],
                    jnp.float32)[index]
    p = jnp.asarray(source.feature_probability if isinstance(source, SourceModels)
                    else source["feature_probability"], jnp.float32)[index]
    xt = sample_sparse_uniform_feature_major(key, jnp.full(W.shape[0], p), batch_size)
    return xt.T @ W


@dataclasses.dataclass(frozen=True)
class SparseAutoencoderTraining(Objective):
    """Sparse autoencoders (sae_relu, sae_topk) on fresh batches of a source model's hidden
    activations h = x W_k (k = `Hyper.source_index`), drawn from fold_in(data_key, t).

    Args:
      source: the toy models (a `SourceModels`); None only in the compile key (`static`),
        where their shapes stand for them.
    """

    source: SourceModels | None
    # (models, n_features, n_hidden) of the source: set from it; what stands for it in `static`
    shapes: tuple[int, int, int] = dataclasses.field(default=(0, 0, 0), repr=False)
    name: ClassVar[str] = "sparse_autoencoder"
    fields: ClassVar[tuple[str, ...]] = ("l1_coefficient", "active_latents", "dictionary_size",
                                         "source_index")
    reads_activations: ClassVar[bool] = True

    def __post_init__(self):
        if isinstance(self.source, dict):  # from JSON
            object.__setattr__(self, "source", SourceModels(**self.source))
        require(self.source is None or isinstance(self.source, SourceModels), "source",
                type(self.source).__name__, "a toysuper.objectives.SourceModels")
        if self.source is not None:
            object.__setattr__(self, "shapes", tuple(self.source.W.shape))

    def check(self, model: ModelConfig, values: Values) -> None:
        """A source of toy models of the right width; indices and sizes within range."""
        super().check(model, values)
        n, k, width = model.n_features, self.shapes[0], self.shapes[2]
        require(width == model.n_hidden, "model.n_hidden", model.n_hidden,
                f"the source models' width {width}")
        for index in values("source_index"):
            require(bool(np.all(index < k)), "source_index", show(index),
                    f"integers in [0, {k}), one per source model")
        for size in values("dictionary_size"):
            require(bool(np.all(size <= n)), "dictionary_size", show(size),
                    f"integers in [1, n_features={n}] (0: all latents)")
        for active in values("active_latents"):
            if model.kind == "sae_topk":
                require(bool(np.all((active >= 1) & (active <= n))), "active_latents",
                        show(active), f"integers in [1, n_features={n}] for sae_topk")
            else:
                require(bool(np.all(active == 0)), "active_latents", show(active),
                        "unset (0) except for sae_topk")

    def shared(self) -> dict[str, np.ndarray]:
        return {"W": self.with_source().W,
                "feature_probability": self.with_source().feature_probability}

    def with_source(self) -> SourceModels:
        """The source models; ValueError in the compile-key form (`static`), which has none."""
        require(self.source is not None, "source", None, "the toy models (a SourceModels): "
                "this is the compile-key form of the objective, which holds only their shapes")
        return self.source

    def static(self) -> SparseAutoencoderTraining:
        return dataclasses.replace(self, source=None)

    def loss(self, data_key, hyper, model: ModelConfig, batch_size: int, shared: Any = None):
        shared = self.shared() if shared is None else shared

        def loss(params, t):
            h = sample_activations(jax.random.fold_in(data_key, t), shared, hyper.source_index,
                                   batch_size)
            return sae_loss(params, h, hyper, model.kind)

        return loss

    def to_dict(self) -> dict:
        return {"source": self.with_source().to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> SparseAutoencoderTraining | None:
        return None if d.get("source") is None else cls(d["source"])
