"""Exact expected losses (one-hot closed form, subset quadrature); noise-free training on them."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

import toysuper as ts
from toysuper.analysis.onehot import dead_bias, hessian_spectrum, kgon, kgon_critical_point
from toysuper.models import TiedParams, apply_relu_output
from toysuper.objectives.one_hot import one_hot_loss, relu_moment_integral, relu_square_integral
from toysuper.objectives.population import quadrature, subset_weights
from toysuper.training import point_key


@pytest.mark.parametrize("a", [-2.0, -0.3, -1e-6, 0.0, 1e-6, 0.4, 3.0])
@pytest.mark.parametrize("c", [-1.5, -0.2, 0.0, 0.25, 2.0])
def test_relu_integrals_match_numerical_integration(a, c):
    square = integrate.quad(lambda mu: max(a * mu + c, 0.0) ** 2, 0, 1, points=[0.5])[0]
    moment = integrate.quad(lambda mu: mu * max(a * mu + c, 0.0), 0, 1, points=[0.5])[0]
    assert float(relu_square_integral(jnp.float32(a), jnp.float32(c))) == pytest.approx(
        square, abs=1e-6)
    assert float(relu_moment_integral(jnp.float32(a), jnp.float32(c))) == pytest.approx(
        moment, abs=1e-6)


def random_model(seed, n=6, m=2):
    k_w, k_b, k_i = jax.random.split(jax.random.key(seed), 3)
    return (jax.random.normal(k_w, (n, m)), 0.3 * jax.random.normal(k_b, (n,)),
            jax.random.uniform(k_i, (n,), minval=0.5, maxval=1.5))


@pytest.mark.parametrize("seed", [0, 1])
def test_one_hot_loss_matches_monte_carlo(seed):
    W, b, importance = random_model(seed)
    n, samples = W.shape[0], 1_000_000
    k_i, k_mu = jax.random.split(jax.random.key(100 + seed))
    x = (jax.nn.one_hot(jax.random.randint(k_i, (samples,), 0, n), n)
         * jax.random.uniform(k_mu, (samples, 1)))
    per_sample = jnp.sum(importance * (x - apply_relu_output(TiedParams(W, b), x)) ** 2, -1)
    stderr = float(jnp.std(per_sample)) / np.sqrt(samples)
    assert abs(float(one_hot_loss(W, b, importance)) - float(jnp.mean(per_sample))) < 4 * stderr


def test_one_hot_loss_is_the_population_loss_given_one_active_feature():
    """The TMS loss restricted to inputs with exactly one active feature, by the population
    module's quadrature (error O(resolution^-2)), is the one-hot closed form."""
    W, b, importance = random_model(2, n=3)
    points, active, volume = quadrature(3, 128)
    one = active.sum(-1) == 1
    weights = subset_weights(jnp.full(3, 0.5), active[one], volume[one])
    x = jnp.asarray(points[one])
    err = jnp.sum(importance * (x - apply_relu_output(TiedParams(W, b), x)) ** 2, -1)
    conditional = float(jnp.sum(weights * err) / jnp.sum(weights))
    assert conditional == pytest.approx(float(one_hot_loss(W, b, importance)), rel=3e-4)


@pytest.mark.parametrize("k", [5, 6])
def test_regular_kgons_are_local_minima_of_the_one_hot_loss(k):
    """Chen et al. 2023: regular k-gons are critical points (here: the full gradient vanishes,
    not only in the symmetric family), and for n = 6 the 5-gon and 6-gon are local minima: no
    negative Hessian eigenvalue, one zero (rotations of the hidden plane)."""
    n = 6
    cp = kgon_critical_point(k, n)
    assert cp["grad_norm"] < 1e-5
    assert cp["bias"] < 0 and cp["norm"] > 1
    params = kgon(k, n, cp["norm"], cp["bias"], cp["dead_bias"])
    spectrum = hessian_spectrum(params)
    assert spectrum[0] > -1e-4 and abs(spectrum[0]) < 1e-4 and spectrum[1] > 1e-3
    for dl, dc in ((0.02, 0), (-0.02, 0), (0, 0.02), (0, -0.02)):  # a minimum of the family
        nudged = kgon(k, n, cp["norm"] + dl, cp["bias"] + dc, cp["dead_bias"])
        assert float(one_hot_loss(nudged.W, nudged.b)) > cp["loss"]


def test_dead_feature_bias_is_optimal():
    n = 6
    loss = [float(one_hot_loss(jnp.zeros((n, 2)), jnp.full(n, c)))
            for c in (dead_bias(n) - 0.01, dead_bias(n), dead_bias(n) + 0.01)]
    assert loss[1] < loss[0] and loss[1] < loss[2]
    assert loss[1] == pytest.approx(1 / 3 - 1 / (4 * n), rel=1e-6)  # 1/3 - n c^2 at c = 1/(2n)


def one_hot_sweep(seeds=12, steps=6000):
    return ts.Sweep(ts.ModelConfig(6, 2), ts.TrainConfig(steps=steps, log_every=200,
                                                         schedule="linear",
                                                         objective=ts.OneHotLoss()),
                    axes={"seed": range(seeds)}, fixed={"lr": 0.01, "weight_decay": 0.0})


def test_noise_free_training_lands_on_the_kgon_critical_points():
    """Trained on the exact one-hot loss, models end at regular k-gons whose norm and bias are
    those of the analytic critical point."""
    ds = ts.run_sweep(one_hot_sweep(), progress=False).to_xarray()
    critical = {k: kgon_critical_point(k, 6) for k in (5, 6)}
    matched = 0
    for W, b in zip(ds["W"].values, ds["b"].values, strict=True):
        norms = np.linalg.norm(W, axis=-1)
        on = norms > 0.5
        k = int(on.sum())
        if k not in critical:
            continue
        assert norms[on] == pytest.approx(critical[k]["norm"], abs=2e-3)
        assert b[on] == pytest.approx(critical[k]["bias"], abs=2e-3)
        matched += 1
    assert matched >= 8  # most seeds end in a 5-gon or a 6-gon


def test_exact_training_reaches_the_optimum_of_the_dense_two_feature_model():
    """n=2, m=1, equal importance, p=1: the best loss is 1/12 (one feature dedicated, the other
    replaced by its mean, or an antipodal pair, both p/3 - p^2/4); noise-free training on the
    quadrature loss gets there, and its last logged loss is the population loss of its weights."""
    sweep = ts.Sweep(ts.ModelConfig(2, 1), ts.TrainConfig(steps=4000, log_every=100,
                                                          objective=ts.PopulationLoss(64)),
                     axes={"seed": range(4)}, fixed={"feature_probability": 1.0})
    ds = ts.run_sweep(sweep, progress=False).to_xarray()
    from toysuper.objectives.population import population_losses

    final = population_losses(ds["W"].values, ds["b"].values, np.ones(2), np.ones(2),
                              resolution=64)
    assert final == pytest.approx(1 / 12, abs=2e-3)
    assert ds["loss"].values == pytest.approx(final, abs=1e-3)


def test_exact_training_in_a_sweep_equals_a_single_run():
    sweep = one_hot_sweep(seeds=2, steps=200)
    a = ts.run_sweep(sweep, progress=False).to_xarray()["W"].values
    single = [jax.jit(ts.train, static_argnums=(2, 3))(
        point_key(0, s), ts.Hyper.create(6, lr=0.01, weight_decay=0.0, seed=s), sweep.model,
        sweep.train)[0].W for s in range(2)]
    np.testing.assert_allclose(a, np.stack(single), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs, field", [
    ({"kind": "linear", "objective": ts.OneHotLoss()}, "model.kind"),
    ({"n": 8, "objective": ts.PopulationLoss(8)}, "PopulationLoss.resolution"),
    ({"objective": "population"}, "objective"),
])
def test_exact_loss_bad_input_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ts.Sweep(ts.ModelConfig(kwargs.pop("n", 3), 2, kwargs.pop("kind", "relu_output")),
                 ts.TrainConfig(steps=100, **kwargs))
