"""Feature geometry of tied models (TMS sections 2 and 5).

Every function takes W of shape (..., n_features, n_hidden) with any leading axes (sweep axes),
row W_i being feature i's direction, and works on numpy or JAX arrays, or on a DataArray with
dims (..., "feature", "hidden") such as a sweep's `ds["W"]`, for which it returns a DataArray
with the sweep's dims and coordinates:

    D = feature_dimensionality(ds["W"])      # dims (feature_probability, seed, feature)
"""

import jax.numpy as jnp
from jaxtyping import Array, Float

from toysuper.analysis.labelled import keeps_dims

REPRESENTED_NORM = 0.5  # ||W_i|| above which a feature counts as represented (TMS figures)


@keeps_dims("feature")
def feature_norms(W: Float[Array, "... feature hidden"]) -> Float[Array, "... feature"]:
    """||W_i||: about 1 if feature i is represented, about 0 if not."""
    return jnp.linalg.norm(W, axis=-1)


@keeps_dims("feature")
def represented(W: Float[Array, "... feature hidden"],
                threshold: float = REPRESENTED_NORM) -> Float[Array, "... feature"]:
    """Boolean mask of features with ||W_i|| > threshold."""
    return feature_norms(W) > threshold


@keeps_dims("feature", "other_feature")
def interference(W: Float[Array, "... feature hidden"]) -> Float[Array, "... feature feature"]:
    """The Gram matrix W_i . W_j (the paper's W^T W in its column layout)."""
    return W @ jnp.swapaxes(W, -1, -2)


@keeps_dims("feature")
def superposition(W: Float[Array, "... feature hidden"]) -> Float[Array, "... feature"]:
    """sum_{j != i} (Ŵ_i . W_j)^2: 0 when W_i is orthogonal to every other feature.

    An unrepresented feature (W_i = 0) gets 0.
    """
    gram = interference(W)
    sq_norm = jnp.diagonal(gram, axis1=-2, axis2=-1)
    off = jnp.sum(gram**2, axis=-1) - sq_norm**2
    safe = jnp.where(sq_norm > 0, sq_norm, 1.0)
    return jnp.where(sq_norm > 0, off / safe, 0.0)


@keeps_dims("feature")
def feature_dimensionality(W: Float[Array, "... feature hidden"]) -> Float[Array, "... feature"]:
    """D_i = ||W_i||^2 / sum_j (Ŵ_i . W_j)^2, the fraction of a dimension feature i gets.

    Multiplying through by ||W_i||^2 gives D_i = ||W_i||^4 / sum_j (W_i . W_j)^2, which is finite
    for every nonzero W_i; W_i = 0 gives D_i = 0, never NaN. Examples: a dedicated dimension 1,
    an antipodal pair 1/2, a triangle 2/3, a pentagon 2/5, a tetrahedron 3/4. sum_i D_i <= m.
    """
    gram = interference(W)
    sq_norm = jnp.diagonal(gram, axis1=-2, axis2=-1)
    denom = jnp.sum(gram**2, axis=-1)
    safe = jnp.where(denom > 0, denom, 1.0)
    return jnp.where(denom > 0, sq_norm**2 / safe, 0.0)


@keeps_dims()
def dimensions_per_feature(W: Float[Array, "... feature hidden"]) -> Float[Array, "..."]:
    """D* = m / ||W||_F^2: hidden dimensions per embedded feature (inf if nothing is embedded)."""
    frob = jnp.sum(W**2, axis=(-2, -1))
    return jnp.where(frob > 0, W.shape[-1] / jnp.where(frob > 0, frob, 1.0), jnp.inf)
