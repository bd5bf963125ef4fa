"""The counter-based generator of the data stream: statistics, exactness under vmap, selection.

Statistical checks use fixed keys, so they are deterministic; each bound is five standard
deviations (or a chi-square tail of 1e-6) of what an ideal generator gives, and each test has a
deliberately weak generator that the same check rejects.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import toysuper as ts
from toysuper import generators
from toysuper.data import sample_sparse_uniform_feature_major
from toysuper.generators import COUNTER, counter_hash, with_generator
from toysuper.training import init_state, point_key

N_FEATURES, BATCH = 64, 4096  # one (feature, batch) draw: 2**18 entries


def counter_key(seed: int) -> jax.Array:
    return with_generator(jax.random.key(seed), "counter")


def draw(key: jax.Array) -> np.ndarray:
    return np.asarray(jax.random.uniform(key, (N_FEATURES, BATCH)))


def uniform_p_value(u: np.ndarray, bins: int = 256) -> float:
    counts = np.bincount(np.minimum((u.ravel() * bins).astype(int), bins - 1), minlength=bins)
    return float(stats.chisquare(counts).pvalue)


def serial_p_value(a: np.ndarray, b: np.ndarray, bins: int = 16) -> float:
    """Chi-square of the pairs (a, b) over bins x bins cells: independence and uniformity."""
    cells = (np.minimum((a.ravel() * bins).astype(int), bins - 1) * bins
             + np.minimum((b.ravel() * bins).astype(int), bins - 1))
    return float(stats.chisquare(np.bincount(cells, minlength=bins * bins)).pvalue)


def max_abs_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """|corr| in units of its standard deviation under independence, 1/sqrt(size)."""
    return abs(float(np.corrcoef(a.ravel(), b.ravel())[0, 1])) * np.sqrt(a.size)


def weak_bits(key_words, bit_width, shape):
    """A bad generator: the counter xor the key, no mixing."""
    size = int(np.prod(shape))
    return (jax.lax.iota(jnp.uint32, size) ^ key_words[0]).reshape(shape)


@pytest.fixture
def weak():
    """`COUNTER` with the mixing removed (same keys), to show the checks can fail."""
    impl = jax.extend.random.define_prng_impl(
        key_shape=(2,), seed=jax.extend.random.threefry_prng_impl.seed,
        split=jax.extend.random.threefry_prng_impl.split,
        fold_in=jax.extend.random.threefry_prng_impl.fold_in, random_bits=weak_bits,
        name="weak", tag="wk")
    return lambda seed: jax.random.wrap_key_data(jax.random.key_data(jax.random.key(seed)),
                                                 impl=impl)


def test_draws_are_uniform():
    for seed in range(3):
        u = draw(counter_key(seed))
        assert 0 <= u.min() and u.max() < 1
        assert uniform_p_value(u) > 1e-6
        assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)


def test_every_bit_is_fair_and_neighbouring_words_are_independent_bit_by_bit():
    words = np.asarray(counter_hash(jnp.arange(1 << 20, dtype=jnp.uint32),
                                    jax.random.key_data(jax.random.key(7))))
    bits = (words[:, None] >> np.arange(32, dtype=np.uint32)) & 1
    sd = np.sqrt(0.25 / len(words))
    assert np.all(np.abs(bits.mean(0) - 0.5) < 5 * sd)
    # bit i of word c against bit j of word c + 1: 32 x 32 correlations
    cross = (bits[:-1].T.astype(np.float32) - 0.5) @ (bits[1:].astype(np.float32) - 0.5)
    assert np.abs(cross / (len(words) - 1)).max() < 5.5 * 0.25 / np.sqrt(len(words))


def test_features_samples_steps_and_models_are_independent():
    key = counter_key(1)
    u = draw(key)
    # neighbouring features (same sample) and neighbouring samples (same feature)
    assert max_abs_correlation(u[:-1], u[1:]) < 5
    assert max_abs_correlation(u[:, :-1], u[:, 1:]) < 5
    assert serial_p_value(u[:-1], u[1:]) > 1e-6
    assert serial_p_value(u[:, :-1], u[:, 1:]) > 1e-6
    # the same entries at consecutive steps: keys fold_in(data_key, t) and t + 1
    step_t, step_next = draw(jax.random.fold_in(key, 5)), draw(jax.random.fold_in(key, 6))
    assert max_abs_correlation(step_t, step_next) < 5
    assert serial_p_value(step_t, step_next) > 1e-6
    # the same entries for models of neighbouring seeds, through the training's own keys
    train_cfg, model_cfg = ts.TrainConfig(), ts.ModelConfig(5, 2)
    hyper = ts.Hyper.create(5)
    keys = [init_state(point_key(0, s), hyper, model_cfg, train_cfg).data_key for s in (3, 4)]
    assert all(jax.random.key_impl(k) == COUNTER for k in keys)
    a, b = (draw(jax.random.fold_in(k, 0)) for k in keys)
    assert max_abs_correlation(a, b) < 5
    assert serial_p_value(a, b) > 1e-6


def test_the_checks_reject_a_generator_without_mixing(weak):
    u = draw(weak(1))
    assert uniform_p_value(u) < 1e-6  # counters 0..2**18 xor a key leave the top bits fixed
    assert serial_p_value(u[:, :-1], u[:, 1:]) < 1e-6


def test_a_draw_does_not_depend_on_the_other_keys_of_a_vmap():
    keys = jax.vmap(lambda s: jax.random.fold_in(counter_key(0), s))(jnp.arange(6))
    together = jax.jit(jax.vmap(lambda k: jax.random.uniform(k, (5, 300))))(keys)
    for i in (0, 3, 5):
        alone = jax.jit(lambda k: jax.random.uniform(k, (5, 300)))(keys[i])
        np.testing.assert_array_equal(together[i], alone)


def test_sparse_inputs_from_the_counter_stream_have_the_paper_distribution():
    p = jnp.array([1.0, 0.5, 0.1, 0.01])
    xs = np.stack([np.asarray(sample_sparse_uniform_feature_major(
        jax.random.fold_in(counter_key(2), t), p, 1 << 16)) for t in range(4)], 1)
    xs = xs.reshape(len(p), -1)
    active = xs > 0
    for i, pi in enumerate(np.asarray(p)):
        n = xs.shape[1]
        assert abs(active[i].mean() - pi) < 5 * np.sqrt(pi * (1 - pi) / n) + 1e-9
        values = xs[i][active[i]]
        assert stats.kstest(values, "uniform").pvalue > 1e-6


def test_threefry_stays_selectable_and_the_choice_is_in_the_config():
    sweep = ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100, log_every=50),
                     axes={"seed": range(2)}, fixed={"feature_probability": 0.1})
    old = dataclasses.replace(sweep, train=dataclasses.replace(sweep.train, rng="threefry"))
    assert "rng" not in sweep.train.to_dict() and old.train.to_dict()["rng"] == "threefry"
    assert ts.TrainConfig.from_dict(old.train.to_dict()) == old.train
    assert sweep.config_hash() != old.config_hash()
    state = init_state(point_key(0, 0), sweep.base, old.model, old.train)
    assert jax.random.key_impl(state.data_key) == jax.random.key_impl(jax.random.key(0))
    new = ts.run_sweep(sweep, progress=False).dataset["W"].values
    again = ts.run_sweep(old, progress=False).dataset["W"].values
    assert not np.allclose(new, again)  # another stream, another model


def test_an_unknown_generator_is_named():
    with pytest.raises(ValueError, match="rng"):
        ts.TrainConfig(rng="philox")
    with pytest.raises(ValueError, match="rng"):
        with_generator(jax.random.key(0), "rbg")


def test_derived_keys_never_repeat_the_words_their_key_draws():
    """fold_in, split and the draws of one key use the hash under different tweaks: no step
    key equals a pair of the key's own random words or a split child (without the tweaks,
    fold_in(key, t) would be the words of entries 2t and 2t + 1 of any draw from key)."""
    key = counter_key(4)
    drawn = np.asarray(jax.random.bits(key, (4096,), jnp.uint32)).reshape(-1, 2)
    folded = np.stack([np.asarray(jax.random.key_data(jax.random.fold_in(key, t)))
                       for t in range(2048)])
    children = np.asarray(jax.random.key_data(jax.random.split(key, 2048)))
    pairs = {tuple(p) for p in drawn.tolist()}
    assert not pairs & {tuple(p) for p in folded.tolist()}
    assert not pairs & {tuple(p) for p in children.tolist()}
    assert not {tuple(p) for p in folded.tolist()} & {tuple(p) for p in children.tolist()}
    assert len({tuple(p) for p in folded.tolist()}) == 2048


def test_counter_keys_split_fold_in_and_draw_other_widths():
    key = counter_key(3)
    a, b = jax.random.split(key)
    assert jax.random.key_impl(a) == COUNTER
    assert not np.array_equal(jax.random.key_data(a), jax.random.key_data(b))
    assert not np.array_equal(jax.random.key_data(jax.random.fold_in(key, 1)),
                              jax.random.key_data(jax.random.fold_in(key, 2)))
    bits = np.asarray(jax.random.bits(key, (1 << 16,), jnp.uint8))
    assert uniform_p_value(bits / 256.0) > 1e-6
    assert generators.GENERATORS[0] == "counter"
