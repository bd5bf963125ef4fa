"""Learning dynamics: parameters recorded inside the compiled loop, and the jump detector on
synthetic trajectories."""

import numpy as np
import pytest

import toysuper as ts
from toysuper.analysis.dynamics import all_jumps, detect_jumps
from toysuper.engine import train_chunk
from toysuper.training import init_state, point_key

STEPS = np.unique(np.geomspace(1, 10_000, 120).astype(int))


def noisy(values, seed, sigma=0.02):
    return values + np.random.default_rng(seed).normal(0, sigma, len(values))


@pytest.mark.parametrize("seed", range(3))
def test_detects_level_jumps_with_their_steps_and_levels(seed):
    D = noisy(np.where(STEPS < 300, 1.0, np.where(STEPS < 3000, 0.5, 1 / 3)), seed)
    jumps = detect_jumps(STEPS, D, feature=4)
    assert [j.feature for j in jumps] == [4, 4]
    first, second = jumps
    assert 250 <= first.step <= 360 and 2500 <= second.step <= 3600
    assert abs(first.before - 1) < 0.02 and abs(first.after - 0.5) < 0.02
    assert abs(second.after - 1 / 3) < 0.02


@pytest.mark.parametrize("seed", range(3))
def test_smooth_passage_between_levels_is_one_jump(seed):
    D = 0.5 + 0.5 / (1 + np.exp(-(np.log(STEPS) - np.log(1000)) * 8))  # over ~10 snapshots
    jumps = detect_jumps(STEPS, noisy(D, seed))
    assert len(jumps) == 1 and 700 <= jumps[0].step <= 1400
    assert abs(jumps[0].before - 0.5) < 0.03 and abs(jumps[0].after - 1) < 0.03


@pytest.mark.parametrize("seed", range(3))
def test_no_jumps_in_noise_or_a_steady_ramp(seed):
    assert detect_jumps(STEPS, noisy(np.full(len(STEPS), 0.4), seed, 0.03)) == []
    assert detect_jumps(STEPS, noisy(np.linspace(0, 1, len(STEPS)), seed)) == []


def test_small_changes_are_not_jumps():
    D = noisy(np.where(STEPS < 1000, 0.5, 0.47), 0)
    assert detect_jumps(STEPS, D) == []


def test_all_jumps_orders_features_by_step():
    D = np.stack([np.where(STEPS < 2000, 0.5, 1.0), np.where(STEPS < 100, 0.0, 0.5)], axis=1)
    assert [(j.feature, j.after) for j in all_jumps(STEPS, D)] == [(1, 0.5), (0, 1.0)]


SNAPS = (0, 1, 7, 40, 100, 300)


def snapshot_sweep(steps=300, snaps=SNAPS):
    return ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=steps, batch_size=128,
                                                         log_every=20, snapshot_steps=snaps),
                    axes={"seed": range(2)}, fixed={"feature_probability": 0.2})


def test_snapshot_equals_a_run_stopped_at_that_step():
    """The parameters recorded at step s inside the loop are those of a run of s steps."""
    ds = ts.run_sweep(snapshot_sweep(), progress=False).to_xarray()
    assert list(ds["snapshot"].values) == list(SNAPS)
    np.testing.assert_array_equal(ds["W_snapshots"].isel(snapshot=-1), ds["W"])
    for s in (40, 100):
        short = ts.run_sweep(ts.Sweep(
            ts.ModelConfig(5, 2), ts.TrainConfig(steps=s, batch_size=128, log_every=20),
            axes={"seed": range(2)}, fixed={"feature_probability": 0.2}), progress=False)
        np.testing.assert_allclose(ds["W_snapshots"].sel(snapshot=s), short.dataset["W"],
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ds["b_snapshots"].sel(snapshot=s), short.dataset["b"],
                                   rtol=1e-5, atol=1e-6)


def test_snapshot_zero_is_the_initialisation():
    sweep = snapshot_sweep()
    ds = ts.run_sweep(sweep, progress=False).to_xarray()
    for k, seed in enumerate(range(2)):
        key = point_key(0, seed)
        init = init_state(key, sweep.base.replace(seed=np.int32(seed)), sweep.model,
                             sweep.train).params
        np.testing.assert_allclose(ds["W_snapshots"].values[k, 0], init.W, rtol=1e-6)
        assert np.all(ds["b_snapshots"].values[k, 0] == 0)


def test_snapshots_segmented_and_resumed_equal_one_call():
    sweep = snapshot_sweep()
    hyper = sweep.grid_hyper()
    whole = train_chunk(sweep, hyper, steps_per_call=300)
    saved = {}
    train_chunk(sweep, hyper, steps_per_call=20,
                checkpoint=lambda step, arrays: saved.setdefault(step, arrays))
    resumed = train_chunk(sweep, hyper, steps_per_call=20, resume=saved[60])
    for name in ("W_snapshots", "b_snapshots"):
        np.testing.assert_allclose(resumed[name], whole[name], rtol=1e-5, atol=1e-6)


def test_snapshot_steps_validated():
    for bad in ((5, 3), (0, 400), (-1,), (1.5,)):
        with pytest.raises(ValueError, match="snapshot_steps"):
            ts.TrainConfig(steps=300, log_every=20, snapshot_steps=bad)
