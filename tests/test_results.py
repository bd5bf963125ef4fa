"""Result: xarray layout, save/load round trip, best-of-k selection, file modes, reuse only by
the same training code."""

import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import toysuper as ts
from toysuper import results
from toysuper.results import Result


def fake_result(sweep, loss, diverged_at=()):
    n, m, size = sweep.model.n_features, sweep.model.n_hidden, sweep.size
    rng = np.random.default_rng(0)
    history = np.repeat(np.asarray(loss, np.float32).reshape(size, 1), 4, axis=1)
    W = rng.normal(size=(size, n, m)).astype(np.float32)
    diverged_step = np.full(size, -1, np.int32)
    for i in diverged_at:
        history[i, -1] = np.nan
        diverged_step[i] = 150
    return Result.from_arrays(sweep, {"W": W, "b": np.zeros((size, n), np.float32),
                                      "history": history, "diverged_step": diverged_step})


def test_xarray_layout(small_sweep):
    ds = fake_result(small_sweep, np.arange(6)).to_xarray()
    assert ds["W"].dims == ("feature_probability", "seed", "feature", "hidden")
    assert ds["b"].dims == ("feature_probability", "seed", "feature")
    assert ds["loss"].dims == ("feature_probability", "seed")
    np.testing.assert_array_equal(ds["seed"], [0, 1, 2])
    np.testing.assert_allclose(ds["feature_probability"], [1.0, 0.1])
    np.testing.assert_allclose(ds["importance"], 0.9 ** np.arange(5), rtol=1e-6)
    assert ds.attrs["config_hash"] == small_sweep.config_hash()


def test_best_over_seed_picks_lowest_loss_and_skips_diverged(small_sweep):
    # losses per (density, seed): row 0 best at seed 2; row 1 best is seed 0 but it diverged
    result = fake_result(small_sweep, [3, 2, 1, 0.5, 4, 5], diverged_at=[3])
    best = result.best_over("seed", by="training").dataset
    np.testing.assert_array_equal(best["seed"], [2, 1])
    np.testing.assert_allclose(best["loss"], [1, 4])
    np.testing.assert_array_equal(best["W"].values[0], result.dataset["W"].values[0, 2])
    assert best["diverged"].values.tolist() == [False, False]
    assert result.dataset["diverged"].values.sum() == 1
    with pytest.raises(ValueError, match="feature_probability"):
        result.best_over("nonexistent")


def test_save_load_round_trip(small_sweep, tmp_path):
    result = fake_result(small_sweep, np.arange(6))
    result.save(tmp_path)
    loaded = ts.load(tmp_path)
    assert loaded.to_xarray().identical(result.to_xarray())
    assert loaded.config_hash == small_sweep.config_hash()
    best = result.best_over("seed")
    best.save(tmp_path / "best")
    again = ts.load(tmp_path / "best")
    assert again.reduced_over == ("seed",)
    assert again.to_xarray().identical(best.to_xarray())


def test_vector_valued_axis(small_sweep):
    ratios = np.array([0.5, 2.0])
    importance = np.stack([np.r_[np.ones(4), r] for r in ratios])
    sweep = ts.Sweep(small_sweep.model, small_sweep.train,
                     axes=(ts.Axis("relative_importance", importance, "importance", ratios),
                           ts.Axis("seed", range(2))))
    ds = fake_result(sweep, np.arange(4)).to_xarray()
    assert ds["W"].dims == ("relative_importance", "seed", "feature", "hidden")
    np.testing.assert_allclose(ds["importance"].sel(relative_importance=2.0)[-1], 2.0)
    np.testing.assert_allclose(sweep.grid_hyper().importance[2, -1], 2.0)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_result_files_get_the_mode_the_umask_gives(small_sweep, tmp_path, umask, mode):
    """Colleagues on a shared server can read a result when the umask lets them."""
    old = os.umask(umask)
    try:
        ts.run_sweep(small_sweep.smaller(steps=50), out=tmp_path / "r", progress=False)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "r").rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"config.json", "result.nc"}
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {mode}


def test_a_result_of_other_training_code_is_trained_again(small_sweep, tmp_path, capfd,
                                                           monkeypatch):
    sweep, out = small_sweep.smaller(steps=50), tmp_path / "r"
    first = ts.run_sweep(sweep, out=out, progress=False)
    first_code = results.read_config(out)["training_code"]
    assert first_code == results.training_code()
    monkeypatch.setattr(results, "training_code",
                        lambda kind=None, objective=None: "0" * 16)  # new code
    assert results.stale(out)
    capfd.readouterr()
    kept = ts.run_sweep(sweep, out=out, progress=False, reuse_stale=True)
    assert "finished result of this config: loading it" in capfd.readouterr().err
    again = ts.run_sweep(sweep, out=out, progress=False)
    assert "trained by other training code" in capfd.readouterr().err
    assert results.read_config(out)["training_code"] == "0" * 16 and not results.stale(out)
    assert (out / f"stale-{first_code}" / "result.nc").exists()  # set aside, not deleted
    for r in (kept, again):  # training is deterministic: the same weights either way
        np.testing.assert_array_equal(r.dataset["W"].values, first.dataset["W"].values)


def test_a_result_opens_in_xarray_without_toysuper(small_sweep, tmp_path):
    """result.nc is netCDF: plain xarray opens it, labelled, with the whole config inside."""
    result = ts.run_sweep(small_sweep.smaller(steps=50), out=tmp_path, progress=False)
    script = (
        "import json, sys, xarray as xr\n"
        f"ds = xr.open_dataset({str(tmp_path / 'result.nc')!r})\n"
        "assert not any(m.startswith('toysuper') for m in sys.modules)\n"
        "config = json.loads(ds.attrs['toysuper_config'])\n"
        "print(json.dumps([config['config_hash'], list(ds['W'].dims), ds['W'].attrs['long_name'],"
        " float(ds['W'].sum())]))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    config_hash, dims, long_name, total = json.loads(out)
    assert config_hash == result.config_hash
    assert dims == ["feature_probability", "seed", "feature", "hidden"]
    assert "feature direction" in long_name
    assert total == pytest.approx(float(result.dataset["W"].sum()), rel=1e-6)


def test_a_result_npz_of_the_previous_format_still_loads(small_sweep, tmp_path):
    result = ts.run_sweep(small_sweep.smaller(steps=50), out=tmp_path, progress=False)
    ds = result.dataset
    header = {"dims": {k: list(v.dims) for k, v in ds.variables.items()},  # the 0.1 format
              "coords": list(ds.coords), "attrs": ds.attrs,
              "variable_attrs": {k: v.attrs for k, v in ds.variables.items() if v.attrs}}
    arrays = {k: v.values for k, v in ds.variables.items()}
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "result.npz", **arrays)
    (tmp_path / "result.nc").unlink()
    old = ts.load(tmp_path)
    xr.testing.assert_identical(old.dataset, result.dataset)
