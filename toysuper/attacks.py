"""The analytic attack on one feature of a tied model, and adversarial inputs (TMS section 7).

For x' = act(x W W^T + b), feature i's output reads the input through row i of the Gram matrix
G = W W^T (the paper's (W^T W)_i). So the input perturbation of a given norm that moves feature
i's pre-activation most is delta = lambda G_i / ||G_i||. A model without superposition has
G_i = e_i and the attack only moves feature i itself; in superposition G_i reaches other
features too, and every output moves.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from toysuper.models import MODEL_KINDS


def attack_directions(W: Float[Array, "feature hidden"]) -> Float[Array, "feature feature"]:
    """Row i: the unit attack direction G_i / ||G_i|| on feature i (zero if W_i = 0)."""
    gram = W @ W.T
    norm = jnp.linalg.norm(gram, axis=-1, keepdims=True)
    return jnp.where(norm > 0, gram / jnp.where(norm > 0, norm, 1.0), 0.0)


def mean_input_norm(x: Float[Array, "batch feature"]) -> Float[Array, ""]:
    """The mean L2 norm of the batch's inputs, the unit attack norms are measured in."""
    return jnp.mean(jnp.linalg.norm(x, axis=-1))


def attacked_feature_major(key: jax.Array, W: Float[Array, "feature hidden"],
                           xt: Float[Array, "feature batch"], attack_norm
                           ) -> Float[Array, "feature batch"]:
    """Adversarial training inputs: each sample attacked on one uniformly drawn feature.

    The attack's norm is `attack_norm` x the batch's mean input norm; its direction is held
    constant for the gradient (the attacker moves first, the model answers).

    Args:
      key: PRNG key for the attacked features.
      W: (n_features, n_hidden) the current weights.
      xt: (n_features, batch) clean inputs, feature-major.
      attack_norm: () fraction of the mean input norm.

    Returns:
      (n_features, batch) attacked inputs; the target stays `xt`.
    """
    directions = jax.lax.stop_gradient(attack_directions(W))
    feature = jax.random.randint(key, (xt.shape[1],), 0, xt.shape[0])
    size = attack_norm * mean_input_norm(xt.T)
    return xt + size * directions[feature].T


def attack_losses(params, x: Float[Array, "batch feature"], importance: Float[Array, " feature"],
                  kind: str, size) -> Float[Array, " feature"]:
    """The mean loss (against the clean target) when every input is attacked on feature i with
    norm `size`, for each i: x -> x + size G_i / ||G_i||. Shape (n_features,)."""
    model = MODEL_KINDS[kind]
    target = model.wanted(x)
    directions = attack_directions(params.W)

    def on(direction: Float[Array, " feature"]):
        err = target - model.apply(params, x + size * direction)
        return jnp.mean(jnp.sum(importance * err**2, axis=-1))

    return jax.vmap(on)(directions)
