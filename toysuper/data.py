"""Samplers: pure functions of a PRNG key (TMS section 2, "Demonstrating superposition")."""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


def sample_sparse_uniform(key: jax.Array, feature_probability: Float[Array, " feature"],
                          batch_size: int) -> Float[Array, "batch feature"]:
    """Sparse uniform features: x_i = 0 with probability 1 - p_i, else x_i ~ U[0, 1).

    One uniform draw u per entry gives both parts: the feature is active when u < p_i, and then
    u / p_i is uniform on [0, 1) (conditioned on u < p, u is uniform on [0, p)). This halves the
    random bits of the two-draw sampler of the paper's notebook with the same distribution.

    Args:
      key: PRNG key.
      feature_probability: (n_features,) densities p_i in (0, 1].
      batch_size: number of samples.

    Returns:
      (batch_size, n_features) float32 batch.

    Example:
      >>> x = sample_sparse_uniform(jax.random.key(0), jnp.full(5, 0.1), 1024)
    """
    p = jnp.asarray(feature_probability, jnp.float32)
    u = jax.random.uniform(key, (batch_size, p.shape[-1]), jnp.float32)
    return jnp.where(u < p, u / p, 0.0)
