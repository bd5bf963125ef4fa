"""Samplers: pure functions of a PRNG key (TMS section 2, "Demonstrating superposition")."""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


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
