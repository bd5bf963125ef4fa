"""The analytic attack (TMS section 7) against closed forms, and adversarial training."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import toysuper as ts
from toysuper.attacks import attack_directions, attack_losses, attacked_feature_major
from toysuper.data import sample_sparse_uniform
from toysuper.models import TiedParams, weighted_mse


def test_directions_are_gram_rows_normalised():
    W = np.array([[1.0, 0], [0.6, 0.8], [0, 0]], np.float32)
    D = np.asarray(attack_directions(W))
    gram = W @ W.T
    np.testing.assert_allclose(D[:2], gram[:2] / np.linalg.norm(gram[:2], axis=1, keepdims=True),
                               rtol=1e-6)
    assert np.all(D[2] == 0)  # an unrepresented feature: no direction, never NaN
    np.testing.assert_allclose(attack_directions(np.eye(3, 2, dtype=np.float32)),
                               np.diag([1.0, 1, 0]), atol=1e-7)


def test_attack_on_a_model_without_superposition_costs_size_squared():
    """W = the first m basis vectors, b = 0: attacking feature i < m adds `size` to its output
    only (loss + size^2); attacking an unrepresented feature changes nothing."""
    n, m, size = 6, 3, 0.3
    x = sample_sparse_uniform(jax.random.key(0), jnp.full(n, 0.2), 4096)
    params = TiedParams(jnp.eye(n, m), jnp.zeros(n))
    clean = float(weighted_mse(params, x, 1.0, "relu_output"))
    losses = np.asarray(attack_losses(params, x, 1.0, "relu_output", size))
    np.testing.assert_allclose(losses[:m], clean + size**2, rtol=1e-5)
    np.testing.assert_allclose(losses[m:], clean, rtol=1e-6)


def test_attack_in_superposition_is_amplified():
    """Two features antipodal in m=1 (linear model): G = [[1, -1], [-1, 1]] and the attack runs
    along its eigenvector of eigenvalue 2, so the outputs move by 2 size in norm and the loss
    grows by 4 size^2, four times the dedicated model's size^2."""
    x = jnp.zeros((8, 2))
    params = TiedParams(jnp.array([[1.0], [-1.0]]), jnp.zeros(2))
    losses = np.asarray(attack_losses(params, x, 1.0, "linear", 0.5))
    np.testing.assert_allclose(losses, [4 * 0.25, 4 * 0.25], rtol=1e-6)


def test_training_attack_has_the_asked_norm_on_one_feature_direction():
    W = jax.random.normal(jax.random.key(1), (5, 2))
    xt = sample_sparse_uniform(jax.random.key(2), jnp.full(5, 0.5), 512).T
    attacked = np.asarray(attacked_feature_major(jax.random.key(3), W, xt, 0.4))
    delta = attacked - np.asarray(xt)
    mean_norm = np.linalg.norm(np.asarray(xt), axis=0).mean()
    np.testing.assert_allclose(np.linalg.norm(delta, axis=0), 0.4 * mean_norm, rtol=1e-5)
    directions = np.asarray(attack_directions(W))
    best = np.max(np.abs(directions @ (delta / np.linalg.norm(delta, axis=0))), axis=0)
    np.testing.assert_allclose(best, 1.0, rtol=1e-5)  # each along one feature's direction


def adversarial_sweep(attack_norms, steps=300):
    train = ts.TrainConfig(steps=steps, batch_size=256, log_every=50,
                           objective=ts.AdversarialBatches())
    return ts.Sweep(ts.ModelConfig(5, 2), train,
                    axes={"attack_norm": attack_norms}, fixed={"feature_probability": 0.05})


def test_zero_attack_equals_plain_training():
    adv = ts.run_sweep(adversarial_sweep([0.0]), progress=False).to_xarray()
    plain = ts.run_sweep(ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(
        steps=300, batch_size=256, log_every=50), fixed={"feature_probability": 0.05}),
        progress=False).to_xarray()
    np.testing.assert_allclose(adv["W"].values[0], plain["W"].values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(adv["loss_history"].values[0], plain["loss_history"].values,
                               rtol=1e-5)


def test_strong_attack_training_gives_up_superposition():
    """A learning threshold: at density 0.05 five features form a pentagon in m=2
    (||W||_F^2 / m > 2.5); trained against attacks of 3x the mean input norm, the model drops
    most of that superposition (it keeps a weak pentagon at 1.5x: see the experiment)."""
    ds = ts.run_sweep(adversarial_sweep([0.0, 3.0], steps=3000), progress=False).to_xarray()
    per_dim = (ds["W"].values ** 2).sum((-2, -1)) / 2
    assert per_dim[0] > 2.5 and per_dim[1] < 0.6 * per_dim[0]


def test_attack_norm_needs_adversarial_training():
    with pytest.raises(ValueError, match="attack_norm"):
        ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100),
                 axes={"attack_norm": [0.1, 0.2]})
    with pytest.raises(ValueError, match="attack_norm"):
        ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100, objective=ts.AdversarialBatches()),
                 fixed={"attack_norm": -0.1})
    with pytest.raises(ValueError, match=r"model\.kind"):
        ts.Sweep(ts.ModelConfig(5, 2, "abs_mlp"),
                 ts.TrainConfig(steps=100, objective=ts.AdversarialBatches()))
