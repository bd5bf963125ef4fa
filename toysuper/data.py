"""Samplers: pure functions of a PRNG key (TMS section 2, "Demonstrating superposition"), and
the fixed finite datasets of Henighan et al. 2023, stored sparsely."""

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Float, Int

from toysuper.validate import is_int, require

SET_KINDS = ("correlated", "anticorrelated", "independent")


def sample_sparse_uniform_feature_major(key: jax.Array,
                                        feature_probability: Float[Array, " feature"],
                                        batch_size: int) -> Float[Array, "feature batch"]:
    """Sparse uniform features, feature-major: x_i = 0 with probability 1 - p_i, else U[0, 1).

    One uniform draw u per entry gives both parts: the feature is active when u < p_i, and then
    u / p_i is uniform on [0, 1) (conditioned on u < p, u is uniform on [0, p)). This halves the
    random bits of the two-draw sampler of the paper's notebook, with the same distribution.

    Args:
      key: PRNG key.
      feature_probability: (n_features,) densities p_i in (0, 1].
      batch_size: number of samples.

    Returns:
      (n_features, batch_size) float32; `sample_sparse_uniform` is its transpose.
    """
    p = jnp.asarray(feature_probability, jnp.float32)
    u = jax.random.uniform(key, (p.shape[-1], batch_size), jnp.float32)
    return jnp.where(u < p[:, None], u / p[:, None], 0.0)


def sample_sparse_uniform(key: jax.Array, feature_probability: Float[Array, " feature"],
                          batch_size: int) -> Float[Array, "batch feature"]:
    """The batch of `sample_sparse_uniform_feature_major` in (batch, feature) layout.

    Example:
      >>> x = sample_sparse_uniform(jax.random.key(0), jnp.full(5, 0.1), 1024)  # (1024, 5)
    """
    return sample_sparse_uniform_feature_major(key, feature_probability, batch_size).T


def sample_sparse_signed_feature_major(key: jax.Array,
                                       feature_probability: Float[Array, " feature"],
                                       batch_size: int) -> Float[Array, "feature batch"]:
    """Sparse signed features, feature-major: x_i = 0 with probability 1 - p_i, else U[-1, 1).

    The inputs of TMS section 9 (computing |x|). One uniform draw per entry, as in
    `sample_sparse_uniform_feature_major`: active when u < p_i, value 2 u / p_i - 1.

    Returns:
      (n_features, batch_size) float32.
    """
    p = jnp.asarray(feature_probability, jnp.float32)
    u = jax.random.uniform(key, (p.shape[-1], batch_size), jnp.float32)
    return jnp.where(u < p[:, None], 2.0 * u / p[:, None] - 1.0, 0.0)


@dataclasses.dataclass(frozen=True)
class FeatureSets:
    """Correlated and anticorrelated sets of features (TMS section 6); static.

    Features are laid out set after set, in the order given. Each set draws one uniform number
    per sample that decides whether the set is active, with the density p of its first feature
    (`Hyper.feature_probability`; give all members the same value); train on them with
    `toysuper.objectives.FreshBatches(feature_sets=...)`:
      correlated: when the set is active, every member is active, each with its own U[0, 1)
        value;
      anticorrelated: when the set is active, exactly one member, chosen uniformly, is active
        with a U[0, 1) value (so each member's own density is p / size);
      independent: `size` features, each active on its own with its density (sets of one).

    Args:
      sets: ((kind, size), ...) with kind one of `SET_KINDS` and size >= 1.

    Example:
      >>> FeatureSets((("correlated", 2), ("correlated", 2)))   # n = 4, two correlated pairs
    """

    sets: tuple[tuple[str, int], ...]

    def __post_init__(self):
        sets = tuple(tuple(s) for s in self.sets)
        require(len(sets) >= 1, "feature_sets.sets", sets, "at least one (kind, size) pair")
        for s in sets:
            require(len(s) == 2 and s[0] in SET_KINDS, "feature_sets kind", s,
                    f"a (kind, size) pair with kind one of {', '.join(SET_KINDS)}")
            require(is_int(s[1]) and s[1] >= 1, "feature_sets size", s, "an integer >= 1")
        object.__setattr__(self, "sets", sets)

    @property
    def n_features(self) -> int:
        return sum(size for _, size in self.sets)

    def members(self) -> list[list[int]]:
        """The feature indices of every set (`groups` without the kinds)."""
        return [members for _, members in self.groups()]

    def groups(self) -> list[tuple[str, list[int]]]:
        """(kind, feature indices) of every set; an independent set gives one group per feature."""
        out, start = [], 0
        for kind, size in self.sets:
            members = list(range(start, start + size))
            out += ([("independent", [i]) for i in members] if kind == "independent"
                    else [(kind, members)])
            start += size
        return out



def sample_feature_sets_feature_major(key: jax.Array,
                                     feature_probability: Float[Array, " feature"],
                                     batch_size: int, feature_sets
                                     ) -> Float[Array, "feature batch"]:
    """Correlated and anticorrelated sets of features (TMS section 6), feature-major.

    Per sample, each set draws one u ~ U[0, 1): the set is active when u < p (p of its first
    feature). Given that, u / p is uniform on [0, 1), and an anticorrelated set of size k
    activates member floor(k u / p); a correlated set activates all members. Active features
    take their own U[0, 1) values.

    Args:
      key: PRNG key.
      feature_probability: (n_features,) densities; a set uses its first member's.
      batch_size: number of samples.
      feature_sets: a `FeatureSets` (static).

    Returns:
      (n_features, batch_size) float32.
    """
    groups = feature_sets.groups()
    n = feature_sets.n_features
    set_of = np.zeros(n, np.int32)  # static layout: each feature's set, rank, set size, kind
    rank = np.zeros(n, np.float32)
    size = np.ones(n, np.float32)
    anti = np.zeros(n, bool)
    first = np.array([members[0] for _, members in groups])
    for g, (kind, members) in enumerate(groups):
        set_of[members] = g
        rank[members] = np.arange(len(members))
        size[members] = len(members)
        anti[members] = kind == "anticorrelated"
    k_set, k_value = jax.random.split(key)
    p_set = jnp.asarray(feature_probability, jnp.float32)[first][:, None]  # (sets, 1)
    u = jax.random.uniform(k_set, (len(groups), batch_size), jnp.float32)
    set_active, position = u < p_set, u / p_set  # position is U[0, 1) where active
    member = jnp.minimum(jnp.floor(position[set_of] * size[:, None]), size[:, None] - 1)
    chosen = member == rank[:, None]  # the min guards u / p rounding up to 1
    active = set_active[set_of] & jnp.where(anti[:, None], chosen, True)
    values = jax.random.uniform(k_value, (n, batch_size), jnp.float32)
    return jnp.where(active, values, 0.0)


@struct.dataclass
class SparseBatch:
    """Points stored by their active features: point t is sum_k values[t, k] e_{indices[t, k]}.

    Unused slots hold value 0 (their index is arbitrary), so sums over slots need no mask.

    Attributes:
      indices: (points, max_active) int32 feature indices.
      values: (points, max_active) float32 values.
    """

    indices: Int[Array, "point slot"]
    values: Float[Array, "point slot"]


DATASET_STREAM = 2**32 - 1  # fold_in data of dataset keys; no model seed (< 2**31) uses it


TRAINING, HELD_OUT = 0, 1  # the two streams of `dataset_keys`


def dataset_keys(dataset_seed) -> tuple[jax.Array, jax.Array]:
    """(training-set key, test-set key) of the datasets named `dataset_seed`.

    Derived from `dataset_seed` alone (not the root seed nor a model's seed), so models that
    share a dataset_seed train on the same points; never equal to a model's key
    `fold_in(key(root), seed)`.
    """
    return tuple(jax.random.split(jax.random.fold_in(
        jax.random.fold_in(jax.random.key(0), DATASET_STREAM), dataset_seed)))


def sample_sparse_point(key: jax.Array, feature_probability, n_features: int,
                        max_active: int) -> SparseBatch:
    """One sparse uniform point rescaled to unit norm (Henighan et al. 2023), as K slots.

    Each feature is active independently with probability p (one p for all features), with a
    U[0, 1) value. The active positions of such a Bernoulli sequence are the partial sums of
    i.i.d. Geometric(p) gaps, so K gap draws give the first K active features exactly, in
    O(K) work instead of O(n); the point is exact unless more than K features are active
    (`min_max_active` makes that negligible). A point with no active feature (probability
    (1 - p)^n) is replaced by a one-hot point on a uniformly drawn feature, so every point has
    norm 1 and predicting 0 has a loss of exactly 1.

    Returns:
      SparseBatch with indices and values of shape (max_active,).
    """
    k_gap, k_value, k_empty = jax.random.split(key, 3)
    position = jnp.cumsum(jax.random.geometric(k_gap, feature_probability, (max_active,))) - 1
    active = position < n_features
    values = jnp.where(active, jax.random.uniform(k_value, (max_active,)), 0.0)
    indices = jnp.where(active, position, 0).astype(jnp.int32)
    norm = jnp.sqrt(jnp.sum(values**2))
    empty = norm == 0
    one_hot = jax.random.randint(k_empty, (), 0, n_features, jnp.int32)
    indices = indices.at[0].set(jnp.where(empty, one_hot, indices[0]))
    values = jnp.where(empty, (jnp.arange(max_active) == 0).astype(jnp.float32),
                       values / jnp.where(empty, 1.0, norm))
    return SparseBatch(indices=indices, values=values)


@functools.partial(jax.jit, static_argnames=("n_features", "size", "max_active"))
def sparse_dataset(key: jax.Array, feature_probability, n_features: int, size: int,
                   max_active: int) -> SparseBatch:
    """`size` points of `sample_sparse_point`, point t drawn from fold_in(key, t).

    So the first T points do not depend on `size`: sets of every size are prefixes of one
    sequence. Shapes (size, max_active).

    Example:
      >>> train_key, test_key = dataset_keys(0)
      >>> data = sparse_dataset(train_key, 0.01, 1000, 512, 40)   # indices, values (512, 40)
    """
    keys = jax.vmap(lambda t: jax.random.fold_in(key, t))(jnp.arange(size))
    return jax.vmap(lambda k: sample_sparse_point(k, feature_probability, n_features,
                                                  max_active))(keys)


def densify(batch: SparseBatch, n_features: int) -> Float[Array, "point feature"]:
    """The dense (points, n_features) form of a `SparseBatch`."""
    rows = jnp.arange(batch.indices.shape[0])[:, None]
    dense = jnp.zeros((batch.indices.shape[0], n_features), jnp.float32)
    return dense.at[rows, batch.indices].add(batch.values)


def min_max_active(n_features: int, feature_probability: float, points: int,
                   miss: float = 1e-6) -> int:
    """The least K such that, in `points` points, P(some point has more than K active features)
    < `miss` (a Binomial(n, p) tail, union bound over points)."""
    n, p = int(n_features), float(feature_probability)
    if p >= 1:
        return n
    k = np.arange(n + 1)
    log_pmf = (np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                         for i in k]) + k * math.log(p) + (n - k) * math.log1p(-p))
    tail = np.cumsum(np.exp(log_pmf)[::-1])[::-1]  # tail[K] = P(active >= K)
    above = np.append(tail[1:], 0.0)  # above[K] = P(active > K)
    return int(np.argmax(above * points < miss))
