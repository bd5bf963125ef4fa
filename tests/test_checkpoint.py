"""Sweeps that lose nothing: kill and resume, corrupt checkpoints, unwritable output, divergence."""

import dataclasses
import errno
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import toysuper as ts
from toysuper import checkpoint as checkpoint_module
from toysuper import engine, results
from toysuper import run as runner
from toysuper.checkpoint import ChunkStore
from toysuper.results import write_config

SWEEP_CODE = """
import numpy as np, toysuper as ts
SWEEP = ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=3000, batch_size=512, log_every=100),
                 axes={"feature_probability": np.array([1.0, 0.3, 0.05]), "seed": range(2)},
                 fixed={"importance": ts.decaying_importance(5, 0.9)})
OPTIONS = dict(chunk_size=2, steps_per_call=200, checkpoint_every=200, progress=False)
"""
namespace: dict = {}
exec(SWEEP_CODE, namespace)
SWEEP, OPTIONS = namespace["SWEEP"], namespace["OPTIONS"]


@pytest.fixture(scope="module")
def uninterrupted():
    return ts.run_sweep(SWEEP, **OPTIONS).to_xarray()


def assert_identical(ds, reference):
    for name in ("W", "b", "loss_history", "diverged_step"):
        np.testing.assert_array_equal(ds[name].values, reference[name].values, err_msg=name)


def manifest(directory):
    return ChunkStore(directory).entries()


def test_sigkill_then_resume_equals_uninterrupted(tmp_path, uninterrupted):
    script = SWEEP_CODE + f"ts.run_sweep(SWEEP, out={str(tmp_path)!r}, **OPTIONS)\n"
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 120
    # kill mid-chunk, once a finished chunk and a later partial state are on disk
    while not (any(n.endswith(".partial.npz") and not n.startswith("000000000")
                   for n in manifest(tmp_path)) or proc.poll() is not None):
        assert time.monotonic() < deadline, "the sweep never checkpointed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    assert not (tmp_path / "result.nc").exists()
    resumed = ts.run_sweep(SWEEP, out=tmp_path, **OPTIONS)
    assert_identical(resumed.to_xarray(), uninterrupted)
    assert_identical(ts.load(tmp_path).to_xarray(), uninterrupted)
    assert not (tmp_path / "chunks").exists()


def test_mid_chunk_resume_continues_from_saved_step(tmp_path, uninterrupted, monkeypatch,
                                                     interrupting):
    real, calls = engine._advance_chunk, []
    # chunk 0 takes 15 calls of 200 steps: stop inside it, after 5
    monkeypatch.setattr(engine, "_advance_chunk", interrupting(real, calls, after=5))
    with pytest.raises(KeyboardInterrupt):
        ts.run_sweep(SWEEP, out=tmp_path, **OPTIONS)
    assert list(manifest(tmp_path)) == ["000000000-000000002.partial.npz"]
    calls.clear()
    monkeypatch.setattr(engine, "_advance_chunk", interrupting(real, calls))
    resumed = ts.run_sweep(SWEEP, out=tmp_path, **OPTIONS)
    assert len(calls) == 3 * 15 - 5  # only the steps not yet taken
    assert_identical(resumed.to_xarray(), uninterrupted)


def test_resuming_with_another_call_size_ends_at_the_configured_step(
        tmp_path, uninterrupted, monkeypatch, interrupting):
    """Interrupted at step 1,000 (calls of 200), resumed with calls of 300: one call of 200
    realigns, and the run ends at step 3,000 with every loss window, as if never stopped."""
    real, calls = engine._advance_chunk, []
    monkeypatch.setattr(engine, "_advance_chunk", interrupting(real, calls, after=5))
    with pytest.raises(KeyboardInterrupt):
        ts.run_sweep(SWEEP, out=tmp_path, **OPTIONS)
    monkeypatch.setattr(engine, "_advance_chunk", real)
    resumed = ts.run_sweep(SWEEP, out=tmp_path, **OPTIONS | {"steps_per_call": 300,
                                                           "checkpoint_every": 300})
    assert resumed.dataset["loss_history"].shape[-1] == SWEEP.train.steps // 100
    assert_identical(resumed.to_xarray(), uninterrupted)


def test_a_saved_chunk_of_the_wrong_length_is_recomputed(tmp_path, uninterrupted, capsys):
    """A chunk stored (with a valid checksum) by a run that stopped short, as the old resume
    with another call size did, is recomputed rather than assembled into the result."""
    write_config(tmp_path, SWEEP)
    ChunkStore(tmp_path, SWEEP.config_hash()).save_chunk(0, 2, {
        "W": np.zeros((2, 5, 2)), "b": np.zeros((2, 5)), "history": np.zeros((2, 11)),
        "diverged_step": np.full(2, -1)})
    resumed = ts.run_sweep(SWEEP, out=tmp_path, **OPTIONS)
    assert "11 loss windows, not 30: recomputing it" in capsys.readouterr().err
    assert_identical(resumed.to_xarray(), uninterrupted)


def test_corrupt_or_truncated_chunks_are_recomputed(tmp_path, uninterrupted, monkeypatch, capsys,
                                                     interrupting):
    real, calls = engine.train_chunk, []
    monkeypatch.setattr(runner, "train_chunk", interrupting(real, calls, after=2))
    with pytest.raises(KeyboardInterrupt):
        ts.run_sweep(SWEEP, out=tmp_path, **OPTIONS)
    first, second = sorted((tmp_path / "chunks").glob("*[0-9].npz"))
    data = bytearray(first.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte: still a readable zip for all we know
    first.write_bytes(bytes(data))
    second.write_bytes(second.read_bytes()[:100])  # truncated
    calls.clear()
    monkeypatch.setattr(runner, "train_chunk", interrupting(real, calls))
    resumed = ts.run_sweep(SWEEP, out=tmp_path, **OPTIONS)
    assert len(calls) == 3  # both damaged chunks and the missing one
    assert capsys.readouterr().err.count("does not match its checksum") == 2
    assert_identical(resumed.to_xarray(), uninterrupted)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES])
def test_write_failure_is_clear_and_leaves_nothing_half_written(tmp_path, monkeypatch, code):
    real_replace, writes = os.replace, []

    def failing_replace(src, dst):
        if str(dst).endswith("000000002-000000004.npz"):  # the second chunk
            raise OSError(code, os.strerror(code))
        writes.append(dst)
        return real_replace(src, dst)

    monkeypatch.setattr(checkpoint_module.os, "replace", failing_replace)
    with pytest.raises(OSError, match=rf"cannot write .*000000002-000000004.npz: "
                                      rf"{os.strerror(code)}"):
        ts.run_sweep(SWEEP, out=tmp_path, **OPTIONS)
    names = sorted(p.name for p in (tmp_path / "chunks").iterdir())
    assert not [n for n in names if n.endswith(".tmp")], names
    assert not (tmp_path / "result.nc").exists()
    assert "000000000-000000002.npz" in manifest(tmp_path)  # the finished chunk is kept


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only directories")
def test_read_only_output_directory(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(OSError, match=r"cannot write|Permission denied"):
            ts.run_sweep(SWEEP, out=tmp_path / "run", **OPTIONS)
    finally:
        tmp_path.chmod(0o700)


def test_out_path_that_is_a_file(tmp_path):
    path = tmp_path / "notadir"
    path.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        ts.run_sweep(SWEEP, out=path, **OPTIONS)


def test_diverged_points_are_flagged_and_do_not_affect_others(small_sweep):
    # lr * weight_decay = 100 makes AdamW's decoupled decay explode
    bad = ts.Sweep(small_sweep.model, small_sweep.train,
                   axes={"lr": [1e-3, 1e4], "seed": range(3)}, fixed=small_sweep.fixed)
    ds = ts.run_sweep(bad, progress=False).to_xarray()
    assert ds["diverged"].values.tolist() == [[False] * 3, [True] * 3]
    steps = ds["diverged_step"].values
    assert np.all(steps[0] == -1) and np.all((steps[1] >= 0) & (steps[1] < bad.train.steps))
    # the same sweep with a benign value in place of the bad one: the other points are unchanged
    good = ts.Sweep(small_sweep.model, small_sweep.train, axes={"lr": [1e-3, 1e-2],
                    "seed": range(3)}, fixed=small_sweep.fixed)
    np.testing.assert_array_equal(ds["W"].values[0],
                                  ts.run_sweep(good, progress=False).to_xarray()["W"].values[0])
    best = ts.run_sweep(bad, progress=False).best_over("lr").to_xarray()
    np.testing.assert_array_equal(best["lr"], np.float32(1e-3))
    assert not best["diverged"].values.any()


def test_same_sweep_twice_is_bit_identical_and_records_versions(small_sweep, tmp_path):
    a = ts.run_sweep(small_sweep, out=tmp_path / "a", progress=False).to_xarray()
    b = ts.run_sweep(small_sweep, out=tmp_path / "b", progress=False).to_xarray()
    assert_identical(a, b)
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert {"toysuper", "jax", "jaxlib", "optax", "platform"} <= set(config["versions"])


def test_a_users_own_chunks_folder_is_refused_and_kept(small_sweep, tmp_path):
    out = tmp_path / "d"
    (out / "chunks").mkdir(parents=True)
    (out / "chunks" / "mine.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"mine\.txt"):
        ts.run_sweep(small_sweep.smaller(steps=50), out=out, progress=False)
    assert (out / "chunks" / "mine.txt").read_text() == "mine"


def test_clearing_checkpoints_removes_only_what_toysuper_wrote(tmp_path):
    store = ChunkStore(tmp_path)
    store.save_chunk(0, 2, {"W": np.zeros(3)})
    (store.root / ".000000000-000000002.npz.x.tmp").write_text("interrupted write")
    (store.root / "notes.txt").write_text("mine")
    store.clear()
    assert [p.name for p in store.root.iterdir()] == ["notes.txt"]
    (store.root / "notes.txt").unlink()
    store.clear()
    assert not store.root.exists()


def test_overwrite_refuses_a_directory_that_is_not_a_result(small_sweep, tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    (out / "thesis.tex").write_text("mine")
    with pytest.raises(ValueError, match="not a toysuper result"):
        ts.run_sweep(small_sweep.smaller(steps=50), out=out, overwrite=True, progress=False)
    assert (out / "thesis.tex").read_text() == "mine"


def test_results_without_their_config_are_never_reused(small_sweep, tmp_path):
    """config.json deleted, then another config run into the directory: refused (the old
    weights would be labelled with the new config), until --overwrite replaces them."""
    out, sweep = tmp_path / "d", small_sweep.smaller(steps=50)
    other = dataclasses.replace(sweep, fixed=sweep.fixed | {"lr": 1e-2})
    ts.run_sweep(sweep, out=out, progress=False)
    (out / "config.json").unlink()
    with pytest.raises(ValueError, match=r"no config\.json"):
        ts.run_sweep(other, out=out, progress=False)
    result = ts.run_sweep(other, out=out, overwrite=True, progress=False)
    assert result.config_hash == other.config_hash() == ts.load(out).config_hash


def test_checkpoints_without_their_config_are_refused_and_kept(small_sweep, tmp_path):
    """Checkpoints of another config with no config.json: refused, and not deleted."""
    sweep = small_sweep.smaller(steps=50)
    other = dataclasses.replace(sweep, fixed=sweep.fixed | {"lr": 1e-2})
    ChunkStore(tmp_path, other.config_hash()).save_partial(0, 2, {"history": np.zeros(1)})
    with pytest.raises(ValueError, match=r"no config\.json"):
        ts.run_sweep(sweep, out=tmp_path, progress=False)
    assert ChunkStore(tmp_path).chunks(partial=True) == [(0, 2)]


def test_a_result_file_under_another_config_file_is_refused(small_sweep, tmp_path):
    sweep = small_sweep.smaller(steps=50)
    other = dataclasses.replace(sweep, fixed=sweep.fixed | {"lr": 1e-2})
    ts.run_sweep(sweep, out=tmp_path / "a", progress=False)
    ts.run_sweep(other, out=tmp_path / "b", progress=False)
    (tmp_path / "b" / "config.json").replace(tmp_path / "a" / "config.json")
    with pytest.raises(checkpoint_module.BrokenFileError, match="different runs"):
        ts.load(tmp_path / "a")


def test_leftovers_of_interrupted_writes_are_cleaned_up(small_sweep, tmp_path):
    """Temporary files of a write killed long ago, and checkpoints left beside a finished
    result, go at the next run; the result itself, and a write still in flight, are kept."""
    sweep = small_sweep.smaller(steps=50)
    first = ts.run_sweep(sweep, out=tmp_path, progress=False)
    killed, in_flight = tmp_path / ".result.nc.k1ll3d.tmp", tmp_path / ".config.json.0ther.tmp"
    killed.write_bytes(b"half")
    os.utime(killed, (time.time() - 7200,) * 2)  # two hours old: no running write owns it
    in_flight.write_bytes(b"another run is writing this")
    ChunkStore(tmp_path).save_chunk(0, 2, {"W": np.zeros(1)})
    again = ts.run_sweep(sweep, out=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [in_flight.name, "config.json",
                                                          "result.nc"]
    np.testing.assert_array_equal(again.dataset["W"].values, first.dataset["W"].values)


def test_a_directory_is_claimed_by_one_config(small_sweep, tmp_path, monkeypatch):
    """Two configs started into one directory at once: whichever writes config.json first
    owns it; the other is refused by name before it trains (simulated: the other run's
    config.json appears between the check and the write)."""
    sweep = small_sweep.smaller(steps=50)
    other = dataclasses.replace(sweep, fixed=sweep.fixed | {"lr": 1e-2})
    real = results.write_config

    def racing(directory, s, *args, **kwargs):
        real(directory, other)  # the other run gets there first
        return real(directory, s, *args, **kwargs)

    monkeypatch.setattr(results, "write_config", racing)
    with pytest.raises(ValueError, match=f"another run of config {other.config_hash()}"):
        ts.run_sweep(sweep, out=tmp_path, progress=False)


def test_a_chunk_stamped_with_another_config_is_recomputed(small_sweep, tmp_path, capsys):
    sweep = small_sweep.smaller(steps=50)
    reference = ts.run_sweep(sweep, chunk_size=2, progress=False)
    write_config(tmp_path, sweep)
    ChunkStore(tmp_path, "another").save_chunk(0, 2, {  # right shapes, wrong config
        "W": np.zeros((2, 5, 2)), "b": np.zeros((2, 5)), "history": np.zeros((2, 1)),
        "diverged_step": np.full(2, -1)})
    resumed = ts.run_sweep(sweep, out=tmp_path, chunk_size=2, progress=False)
    assert "was written for config another" in capsys.readouterr().err
    np.testing.assert_array_equal(resumed.dataset["W"].values, reference.dataset["W"].values)


@pytest.mark.parametrize("damage", ["truncated result", "garbled result", "config []",
                                    "config not JSON"])
def test_a_damaged_result_gets_a_one_line_error(small_sweep, tmp_path, damage):
    ts.run_sweep(small_sweep.smaller(steps=50), out=tmp_path, progress=False)
    result, config = tmp_path / "result.nc", tmp_path / "config.json"
    if damage == "truncated result":
        result.write_bytes(result.read_bytes()[:200])
    elif damage == "garbled result":
        result.write_bytes(b"\0" * 1000)
    elif damage == "config []":
        config.write_text("[]")
    else:
        config.write_text("{config")
    broken = checkpoint_module.BrokenFileError
    with pytest.raises(broken, match=r"(result|config)\.") as e:
        ts.load(tmp_path)
    assert "\n" not in str(e.value)
