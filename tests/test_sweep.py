"""Sweeps: grid layout, equivalences (single, chunked, other sweeps), compiles, resume."""

import json

import jax
import numpy as np
import pytest

import toysuper as ts
from toysuper import engine
from toysuper import run as runner
from toysuper.engine import default_chunk_size, segment_steps
from toysuper.training import point_key


def test_grid_is_cartesian_product_in_axis_order(small_sweep):
    grid = small_sweep.grid_hyper()
    assert small_sweep.shape == (2, 3) and small_sweep.size == 6
    np.testing.assert_allclose(grid.feature_probability[:, 0], [1, 1, 1, 0.1, 0.1, 0.1])
    np.testing.assert_array_equal(grid.seed, [0, 1, 2, 0, 1, 2])
    np.testing.assert_allclose(grid.importance[4], 0.9 ** np.arange(5), rtol=1e-6)


def test_sweep_point_equals_single_run(small_sweep):
    result = ts.run_sweep(small_sweep, progress=False)
    hyper = jax.tree.map(lambda x: x[4], small_sweep.grid_hyper())  # p = 0.1, seed 1
    params, hist = jax.jit(ts.train, static_argnums=(2, 3))(
        point_key(0, 1), hyper, small_sweep.model, small_sweep.train)
    W = result.dataset["W"].sel(feature_probability=0.1, seed=1).values
    np.testing.assert_allclose(W, params.W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.dataset["loss_history"].values[1, 1], hist, rtol=1e-5)


def test_chunked_equals_unchunked(small_sweep):
    whole = ts.run_sweep(small_sweep, progress=False, chunk_size=6).dataset
    for chunk in (1, 4):  # 4 pads the last chunk
        chunked = ts.run_sweep(small_sweep, progress=False, chunk_size=chunk).dataset
        np.testing.assert_allclose(chunked["W"], whole["W"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(chunked["loss"], whole["loss"], rtol=1e-5)


def test_point_result_does_not_depend_on_its_sweep(small_sweep):
    big = ts.Sweep(small_sweep.model, small_sweep.train,
                   axes={"feature_probability": np.array([0.5, 0.1, 0.03]), "seed": range(5)},
                   fixed=small_sweep.fixed)
    a = ts.run_sweep(small_sweep, progress=False).dataset["W"].sel(feature_probability=0.1, seed=2)
    b = ts.run_sweep(big, progress=False).dataset["W"].sel(feature_probability=0.1, seed=2)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_new_swept_values_do_not_recompile(small_sweep):
    ts.run_sweep(small_sweep, progress=False)
    before = engine._advance_chunk._cache_size()
    other = ts.Sweep(small_sweep.model, small_sweep.train,
                     axes={"feature_probability": np.array([0.7, 0.02]), "seed": [10, 11, 12]},
                     fixed={"importance": np.linspace(1, 0.2, 5), "lr": 3e-3,
                            "weight_decay": 0.05})
    ts.run_sweep(other, progress=False)
    assert engine._advance_chunk._cache_size() == before


def test_lr_and_weight_decay_are_sweepable(small_sweep):
    s = ts.Sweep(small_sweep.model, small_sweep.train,
                 axes={"lr": [1e-3, 1e-2], "weight_decay": [0.0, 0.5]}, fixed=small_sweep.fixed)
    ds = ts.run_sweep(s, progress=False).dataset
    assert ds["W"].dims == ("lr", "weight_decay", "feature", "hidden")
    norms = np.linalg.norm(ds["W"].values, axis=(-2, -1))
    assert norms[1, 1] < norms[1, 0]  # heavy decay shrinks the weights


def test_resume_after_interruption_equals_uninterrupted(small_sweep, tmp_path, monkeypatch,
                                                        interrupting):
    whole = ts.run_sweep(small_sweep, progress=False, chunk_size=2)
    real, calls = engine.train_chunk, []
    monkeypatch.setattr(runner, "train_chunk", interrupting(real, calls, after=2))
    with pytest.raises(KeyboardInterrupt):
        ts.run_sweep(small_sweep, out=tmp_path, progress=False, chunk_size=2)
    assert len(list((tmp_path / "chunks").glob("*.npz"))) == 2
    calls.clear()
    monkeypatch.setattr(runner, "train_chunk", interrupting(real, calls))
    resumed = ts.run_sweep(small_sweep, out=tmp_path, progress=False, chunk_size=2)
    assert len(calls) == 1  # only the missing chunk trained
    np.testing.assert_array_equal(resumed.dataset["W"], whole.dataset["W"])
    assert not (tmp_path / "chunks").exists()
    # a finished directory is loaded, not retrained
    monkeypatch.setattr(runner, "train_chunk", None)
    again = ts.run_sweep(small_sweep, out=tmp_path, progress=False)
    np.testing.assert_array_equal(again.dataset["W"], whole.dataset["W"])


def test_directory_of_another_config_is_refused(small_sweep, tmp_path):
    ts.run_sweep(small_sweep, out=tmp_path, progress=False)
    other = ts.Sweep(small_sweep.model, small_sweep.train, axes={"seed": [0]})
    with pytest.raises(ValueError, match=small_sweep.config_hash()):
        ts.run_sweep(other, out=tmp_path, progress=False)
    ts.run_sweep(other, out=tmp_path, progress=False, overwrite=True)
    assert json.loads((tmp_path / "config.json").read_text())["config_hash"] == other.config_hash()


def test_chunk_size_from_memory_and_segments(small_sweep):
    assert default_chunk_size(small_sweep) == 6
    assert default_chunk_size(small_sweep, memory_bytes=100_000) < 6
    assert default_chunk_size(small_sweep, memory_bytes=1) == 1
    per_model = engine.estimate_bytes_per_model(small_sweep.model, small_sweep.train)
    assert default_chunk_size(small_sweep, memory_bytes=4 * per_model) == 3  # 2 x 3, not 4 + 2
    for steps, log in [(10_000, 100), (300, 50), (700, 100), (1, 1)]:
        seg = segment_steps(ts.TrainConfig(steps=steps, log_every=log))
        assert steps % seg == 0 and seg % log == 0


def population_sweep(models: int, n: int = 20, m: int = 5, **train) -> ts.Sweep:
    return ts.Sweep(ts.ModelConfig(n, m), ts.TrainConfig(**({"steps": 20, "log_every": 10}
                                                            | train)),
                    axes={"feature_probability": ts.power_space(20, models)})


@pytest.mark.parametrize("sweep", [
    population_sweep(10, 5, 2), population_sweep(64), population_sweep(4, 400, 30),
    ts.Sweep(ts.ModelConfig(1000, 2), ts.TrainConfig(steps=20, log_every=10,
                                                     objective=ts.FixedDataset(1024, 16)),
             axes={"dataset_size": [64, 1024]}, fixed={"feature_probability": 0.001}),
], ids=["intro", "population", "geometry_in_turn", "fixed_dataset"])
def test_memory_estimate_bounds_the_compiled_footprint(sweep):
    """The chunk-size estimate never undercounts what XLA allocates for a chunk."""
    estimate = sweep.size * engine.estimate_bytes_per_model(sweep.model, sweep.train)
    assert engine.chunk_memory_bytes(sweep, sweep.size) <= estimate


def test_sweep_over_a_forced_memory_limit_runs_in_chunks_that_fit(monkeypatch):
    sweep = population_sweep(24)
    limit = engine.chunk_memory_bytes(sweep, sweep.size) // 4  # the grid needs 4x this
    monkeypatch.setenv(engine.MEMORY_ENV, str(limit))
    chunk = default_chunk_size(sweep)
    assert chunk < sweep.size and engine.chunk_memory_bytes(sweep, chunk) <= limit
    calls, real = [], engine.train_chunk

    def counting(s, hyper, **kwargs):
        calls.append(len(hyper.seed))
        return real(s, hyper, **kwargs)

    monkeypatch.setattr(runner, "train_chunk", counting)
    chunked = ts.run_sweep(sweep, progress=False).dataset
    assert calls == [chunk] * -(-sweep.size // chunk)
    whole = ts.run_sweep(sweep, chunk_size=sweep.size, progress=False).dataset
    np.testing.assert_allclose(chunked["W"], whole["W"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("value", ["0", "-5", "1GB"])
def test_bad_memory_budget_is_named(monkeypatch, value):
    monkeypatch.setenv(engine.MEMORY_ENV, value)
    with pytest.raises(ValueError, match=engine.MEMORY_ENV):
        engine.memory_budget()


def test_smaller_keeps_evenly_spread_values_and_the_same_points():
    sweep = ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=1000, log_every=300 // 3),
                     axes={"feature_probability": np.geomspace(1, 0.01, 9), "seed": range(8)})
    small = sweep.smaller(steps=300, feature_probability=3, seed=2)
    assert small.shape == (3, 2) and small.train.steps == 300
    np.testing.assert_allclose(small.axes[0].values, [1.0, 0.1, 0.01], rtol=1e-6)
    assert small.axes[1].values.tolist() == [0, 7]
    assert small.model == sweep.model and small.train.log_every == 100
    with pytest.raises(ValueError, match="density=2 is invalid"):
        sweep.smaller(density=2)
