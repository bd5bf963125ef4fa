"""Model families: `init(key, cfg) -> params` and `apply(params, x) -> x'` for one model.

Weight layout follows the paper's notebook: `W[i, :]` is feature i's direction, W has shape
(n_features, n_hidden). In row layout the tied models of TMS section 2 are

    h = x W,   x' = h W^T + b            (linear;      paper: x' = W^T W x + b)
    x' = ReLU(h W^T + b)                 (relu_output; paper: x' = ReLU(W^T W x + b))

and the models of TMS sections 8-9 put a ReLU on the hidden layer:

    x' = ReLU(ReLU(x W) W^T + b)         (relu_hidden; privileged basis, no hidden bias)
    y' = ReLU(ReLU(x W) W_out^T + b)     (abs_mlp; untied, inputs U[-1, 1], target |x|)

A new family is a `ModelKind` (its parameters, input distribution and target included) registered
with `register_kind`; training and sweeps need no change.

Initialisation: W is Xavier-normal per model, std = sqrt(2 / (n_features + n_hidden)), b = 0. The
paper's notebook calls `xavier_normal_` on one (n_instances, n_features, n_hidden) tensor, which
PyTorch reads as fan_in = n_features * n_hidden and fan_out = n_instances * n_hidden, so its std
sqrt(2 / (n_hidden * (n_features + n_instances))) depends on how many models share the tensor.
Here a model's init does not depend on its sweep (the `torch_reference.py` baseline uses the same
per-model convention).
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from jaxtyping import Array, Float

from toysuper.data import (
    SparseBatch,
    sample_sparse_signed_feature_major,
    sample_sparse_uniform_feature_major,
)
from toysuper.fingerprint import fingerprint
from toysuper.sae import SAE_DIMS, init_sae, reconstruct
from toysuper.validate import is_int, one_of, require


@struct.dataclass
class TiedParams:
    """Parameters of a tied autoencoder.

    Attributes:
      W: (n_features, n_hidden) feature directions, row i = W_i.
      b: (n_features,) output bias.
    """

    W: Float[Array, "feature hidden"]
    b: Float[Array, " feature"]


@struct.dataclass
class MLPParams:
    """Parameters of an untied one-hidden-layer MLP, stored feature-major like `TiedParams`.

    Attributes:
      W: (n_features, n_hidden) input weights, h = ReLU(x W); row i = how feature i is read.
      W_out: (n_features, n_hidden) output weights, y'_i = ReLU(h . W_out[i] + b_i) (the paper's
        W2 transposed).
      b: (n_features,) output bias.
    """

    W: Float[Array, "feature hidden"]
    W_out: Float[Array, "feature hidden"]
    b: Float[Array, " feature"]


def xavier_normal(key: jax.Array, n_in: int, n_out: int) -> Float[Array, "n_in n_out"]:
    """Glorot/Xavier normal for one matrix: N(0, 2 / (n_in + n_out))."""
    return jax.random.normal(key, (n_in, n_out), jnp.float32) * jnp.sqrt(2.0 / (n_in + n_out))


def init_tied(key: jax.Array, cfg: ModelConfig) -> TiedParams:
    """Xavier-normal W (per model), zero bias."""
    return TiedParams(W=xavier_normal(key, cfg.n_features, cfg.n_hidden),
                      b=jnp.zeros(cfg.n_features, jnp.float32))


INIT_SCHEMES = ("kind", "unit_rows")


def init_params(key: jax.Array, cfg: ModelConfig, scheme: str = "kind"):
    """A model's initial parameters: the kind's own `init` ("kind"; Xavier-normal for the tied
    kinds), or "unit_rows", W ~ N(0, 1/m) (rows of expected squared norm 1) and b ~ N(0, 1),
    as Liu, Liu and Gore 2025 (tied kinds only)."""
    if scheme == "kind":
        return MODEL_KINDS[cfg.kind].init(key, cfg)
    k_w, k_b = jax.random.split(key)
    return TiedParams(W=jax.random.normal(k_w, (cfg.n_features, cfg.n_hidden), jnp.float32)
                      / jnp.sqrt(cfg.n_hidden),
                      b=jax.random.normal(k_b, (cfg.n_features,), jnp.float32))


def supports_init(kind: str, scheme: str) -> bool:
    """Whether `init_params` can initialise model kind `kind` with `scheme`."""
    return scheme == "kind" or MODEL_KINDS[kind].init is init_tied


def init_mlp(key: jax.Array, cfg: ModelConfig) -> MLPParams:
    """Xavier-normal W and W_out (independent draws), zero bias."""
    k_in, k_out = jax.random.split(key)
    return MLPParams(W=xavier_normal(k_in, cfg.n_features, cfg.n_hidden),
                     W_out=xavier_normal(k_out, cfg.n_features, cfg.n_hidden),
                     b=jnp.zeros(cfg.n_features, jnp.float32))


def apply_linear(params: TiedParams,
                 x: Float[Array, "batch feature"]) -> Float[Array, "batch feature"]:
    """x' = x W W^T + b."""
    return (x @ params.W) @ params.W.T + params.b


def apply_relu_output(params: TiedParams,
                      x: Float[Array, "batch feature"]) -> Float[Array, "batch feature"]:
    """x' = ReLU(x W W^T + b)."""
    return jax.nn.relu(apply_linear(params, x))


def apply_relu_hidden(params: TiedParams,
                      x: Float[Array, "batch feature"]) -> Float[Array, "batch feature"]:
    """x' = ReLU(ReLU(x W) W^T + b): a privileged hidden basis (TMS section 8)."""
    return jax.nn.relu(jax.nn.relu(x @ params.W) @ params.W.T + params.b)


def apply_mlp(params: MLPParams,
              x: Float[Array, "batch feature"]) -> Float[Array, "batch feature"]:
    """y' = ReLU(ReLU(x W) W_out^T + b) (TMS section 9)."""
    return jax.nn.relu(jax.nn.relu(x @ params.W) @ params.W_out.T + params.b)


def apply_linear_feature_major(params: TiedParams, xt: Float[Array, "feature batch"]
                               ) -> Float[Array, "feature batch"]:
    """`apply_linear` on a feature-major (feature, batch) input."""
    return params.W @ (params.W.T @ xt) + params.b[:, None]


def apply_relu_output_feature_major(params: TiedParams, xt: Float[Array, "feature batch"]
                                    ) -> Float[Array, "feature batch"]:
    """`apply_relu_output` on a feature-major input."""
    return jax.nn.relu(apply_linear_feature_major(params, xt))


def apply_relu_hidden_feature_major(params: TiedParams, xt: Float[Array, "feature batch"]
                                    ) -> Float[Array, "feature batch"]:
    """`apply_relu_hidden` on a feature-major input."""
    return jax.nn.relu(params.W @ jax.nn.relu(params.W.T @ xt) + params.b[:, None])


def apply_mlp_feature_major(params: MLPParams, xt: Float[Array, "feature batch"]
                            ) -> Float[Array, "feature batch"]:
    """`apply_mlp` on a feature-major input."""
    return jax.nn.relu(params.W_out @ jax.nn.relu(params.W.T @ xt) + params.b[:, None])


TIED_DIMS = {"W": ("feature", "hidden"), "b": ("feature",)}


@dataclasses.dataclass(frozen=True)
class ModelKind:
    """A model family: its parameters, how to run it, what it sees and what it must output.

    Attributes:
      init: (key, ModelConfig) -> params, a flax struct of arrays.
      apply: (params, x (batch, feature)) -> prediction (batch, feature).
      description: one line for listings.
      apply_feature_major: optional, the same function on a (feature, batch) input; training
        on fresh batches uses it when given (the batch is drawn feature-major).
      sample: (key, feature_probability (feature,), batch_size) -> inputs (feature, batch).
      target: elementwise map from inputs to the wanted outputs; None for reconstruction.
      param_dims: dims of each parameter in results, e.g. {"W": ("feature", "hidden")}; every
        kind has W (feature, hidden) (feature i's input direction) and b (feature,).
      output_activation: for tied kinds of the form x' = act(x W W^T + b), the elementwise act;
        it lets them train on sparse points (`weighted_mse_sparse`). None otherwise.
      dictionary: a sparse autoencoder trained on toy models' activations (`toysuper.sae`),
        not on sparse features; its "features" are its latents.
    """

    init: Callable[[jax.Array, Any], Any]
    apply: Callable[[Any, jax.Array], jax.Array]
    description: str
    apply_feature_major: Callable[[Any, jax.Array], jax.Array] | None = None
    sample: Callable[[jax.Array, jax.Array, int], jax.Array] = sample_sparse_uniform_feature_major
    target: Callable[[jax.Array], jax.Array] | None = None
    param_dims: Mapping[str, tuple[str, ...]] = dataclasses.field(
        default_factory=lambda: dict(TIED_DIMS))
    output_activation: Callable[[jax.Array], jax.Array] | None = None
    dictionary: bool = False

    def wanted(self, x: jax.Array) -> jax.Array:
        """The output the model should produce for input `x` (any layout)."""
        return x if self.target is None else self.target(x)

    @property
    def reconstructs_sparse_uniform(self) -> bool:
        """Whether it reconstructs TMS's sparse uniform features (the input distribution that
        feature sets, fixed datasets and the exact population loss are built on)."""
        return (self.sample is sample_sparse_uniform_feature_major and self.target is None
                and not self.dictionary)


def identity(z: jax.Array) -> jax.Array:
    """The linear model's output activation."""
    return z


MODEL_KINDS: dict[str, ModelKind] = {
    "linear": ModelKind(init_tied, apply_linear, "tied linear autoencoder, x' = W^T W x + b",
                        apply_linear_feature_major, output_activation=identity),
    "relu_output": ModelKind(init_tied, apply_relu_output,
                             "tied autoencoder with output ReLU, x' = ReLU(W^T W x + b)",
                             apply_relu_output_feature_major, output_activation=jax.nn.relu),
    "relu_hidden": ModelKind(init_tied, apply_relu_hidden,
                             "tied, ReLU hidden layer, x' = ReLU(W^T ReLU(W x) + b)",
                             apply_relu_hidden_feature_major),
    "abs_mlp": ModelKind(init_mlp, apply_mlp,
                         "untied MLP computing |x|, y' = ReLU(W_out ReLU(W x) + b), x_i in [-1, 1]",
                         apply_mlp_feature_major, sample=sample_sparse_signed_feature_major,
                         target=jnp.abs,
                         param_dims={"W": ("feature", "hidden"), "W_out": ("feature", "hidden"),
                                     "b": ("feature",)}),
    "sae_relu": ModelKind(init_sae, functools.partial(reconstruct, kind="sae_relu"),
                          "sparse autoencoder on toy-model activations, ReLU code, L1 penalty",
                          param_dims=SAE_DIMS, dictionary=True),
    "sae_topk": ModelKind(init_sae, functools.partial(reconstruct, kind="sae_topk"),
                          "sparse autoencoder on toy-model activations, TopK code",
                          param_dims=SAE_DIMS, dictionary=True),
}


BUILT_IN_KINDS = frozenset(MODEL_KINDS)


def register_kind(name: str, kind: ModelKind) -> None:
    """Make `kind` trainable as `ModelConfig(n, m, name)`; training and sweeps need no change.

    Registering a name again replaces its kind and drops every compiled program
    (`jax.clear_caches()`), so the next sweep compiles the new one instead of reusing code
    compiled for the old; result directories tell the two apart by `kind_fingerprint`.

    Raises:
      ValueError: `name` is not a non-empty string or is a built-in kind, or `kind` is not a
        `ModelKind`.

    Example:
      >>> register_kind("relu_output_signed", dataclasses.replace(
      ...     MODEL_KINDS["relu_output"], sample=sample_sparse_signed_feature_major))
    """
    require(isinstance(name, str) and bool(name), "name", name, "a non-empty string")
    require(name not in BUILT_IN_KINDS, "name", name,
            f"a name other than the built-in kinds ({', '.join(sorted(BUILT_IN_KINDS))})")
    require(isinstance(kind, ModelKind), "kind", type(kind).__name__, "a ModelKind")
    replaced = name in MODEL_KINDS
    MODEL_KINDS[name] = kind
    if replaced:
        jax.clear_caches()


def kind_fingerprint(name: str) -> str:
    """sha256 (16 hex digits) of a registered kind's functions and settings; "" for a built-in
    kind, whose code `toysuper.results.training_code` already covers."""
    if name in BUILT_IN_KINDS:
        return ""
    kind = MODEL_KINDS[name]
    return fingerprint({f.name: getattr(kind, f.name) for f in dataclasses.fields(kind)})


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Static model shape and family; a compile key.

    Args:
      n_features: n, the input and output dimension.
      n_hidden: m, the bottleneck dimension.
      kind: a model family registered in `MODEL_KINDS`.
    """

    n_features: int
    n_hidden: int
    kind: str = "relu_output"

    def __post_init__(self):
        require(is_int(self.n_features) and self.n_features >= 1, "n_features",
                self.n_features, "an integer >= 1")
        require(is_int(self.n_hidden) and self.n_hidden >= 1, "n_hidden",
                self.n_hidden, "an integer >= 1")
        require(self.kind in MODEL_KINDS, "kind", self.kind,
                one_of(self.kind, sorted(MODEL_KINDS)))
        if MODEL_KINDS[self.kind].reconstructs_sparse_uniform and self.n_hidden > self.n_features:
            warnings.warn(f"n_hidden={self.n_hidden} > n_features={self.n_features}: every feature "
                          "can have a dimension of its own, so this model has no need of "
                          "superposition (n_hidden < n_features is the papers' setting)",
                          stacklevel=3)


def uses_feature_major(cfg: ModelConfig) -> bool:
    """Whether training `cfg` on fresh batches runs the kind's feature-major apply."""
    return MODEL_KINDS[cfg.kind].apply_feature_major is not None


def weighted_mse(params, x: Float[Array, "batch feature"], importance: Float[Array, " feature"],
                 kind: str, x_in: Float[Array, "batch feature"] | None = None) -> Float[Array, ""]:
    """Importance-weighted loss, L = mean_batch sum_i I_i (y_i - x'_i)^2, y = the kind's target
    of x (x itself for the autoencoders).

    Sums over features as the TMS text writes it (the released notebook averages over features
    instead; AdamW is invariant to that constant factor up to eps). With unit-norm inputs, as in
    Henighan et al. 2023, predicting 0 gives a loss of exactly 1. `x_in`, if given, is what the
    model sees instead of x (an attacked input, `toysuper.attacks`); the target stays x's.
    """
    model = MODEL_KINDS[kind]
    err = model.wanted(x) - model.apply(params, x if x_in is None else x_in)
    return jnp.mean(jnp.sum(importance * err**2, axis=-1))


def weighted_mse_feature_major(params, xt: Float[Array, "feature batch"],
                               importance: Float[Array, " feature"], kind: str,
                               xt_in: Float[Array, "feature batch"] | None = None
                               ) -> Float[Array, ""]:
    """`weighted_mse` of a feature-major batch, through the kind's feature-major apply."""
    model = MODEL_KINDS[kind]
    err = model.wanted(xt) - model.apply_feature_major(params, xt if xt_in is None else xt_in)
    return jnp.mean(jnp.sum(importance[:, None] * err**2, axis=0))


def weighted_mse_rows(params, x: Float[Array, "point feature"], row_weight: Float[Array, " point"],
                      importance: Float[Array, " feature"], kind: str) -> Float[Array, ""]:
    """sum_t w_t sum_i I_i (y_ti - x'_ti)^2 over a fixed dataset (w_t = 1/T on its T real rows,
    0 on padding): `weighted_mse` with per-point weights."""
    model = MODEL_KINDS[kind]
    err = model.wanted(x) - model.apply(params, x)
    return jnp.sum(row_weight * jnp.sum(importance * err**2, axis=-1))


def hidden_sparse(W: Float[Array, "feature hidden"], batch: SparseBatch
                  ) -> Float[Array, "point hidden"]:
    """h_t = x_t W from the active features only: sum_k values[t, k] W[indices[t, k]]."""
    return jnp.einsum("tk,tkm->tm", batch.values, W[batch.indices])


def weighted_mse_sparse(params: TiedParams, batch: SparseBatch, row_weight: Float[Array, " point"],
                        importance: Float[Array, " feature"], kind: str) -> Float[Array, ""]:
    """`weighted_mse_rows` of a tied kind, from sparse points, exact over all n outputs.

    With z = act(h W^T + b) and x_t supported on its active set A_t,
        sum_i I_i (x_ti - z_ti)^2 = sum_i I_i z_ti^2 + sum_{i in A_t} I_i (x_ti^2 - 2 x_ti z_ti),
    so the dense input is never formed: h_t comes from K gathered rows of W, the first sum
    needs only h (points, m), and the second only the K active outputs, recomputed from the
    gathered rows. Memory O(points x n) for the first sum's activations instead of a further
    dense (points, n) input and target; see the tests for its equality with `weighted_mse_rows`.
    """
    act = MODEL_KINDS[kind].output_activation
    W_active = params.W[batch.indices]  # (points, K, m)
    h = jnp.einsum("tk,tkm->tm", batch.values, W_active)
    everywhere = jnp.sum(importance * act(h @ params.W.T + params.b) ** 2, axis=-1)
    z_active = act(jnp.einsum("tm,tkm->tk", h, W_active) + params.b[batch.indices])
    x = batch.values
    on_active = jnp.sum(importance[batch.indices] * (x**2 - 2 * x * z_active), axis=-1)
    return jnp.sum(row_weight * (everywhere + on_active))
