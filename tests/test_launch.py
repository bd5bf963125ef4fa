"""Job arrays (submitit's local executor, the same task code Slurm runs) and concurrent writers:
three tasks give the single-process result bit for bit; a task killed mid-chunk is completed by
launching again, with nothing lost or trained twice; chunk entries survive simultaneous writers."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import toysuper as ts
from toysuper import launch
from toysuper.checkpoint import ChunkStore
from toysuper.cli import main
from toysuper.launch import Launcher, LaunchError, launch_sweep, status, submit
from toysuper.run import chunk_bounds

pytest.importorskip("submitit")

# 12 models in 6 chunks of 2: two chunks per task
SWEEP = ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=400, batch_size=64, log_every=50),
                 axes={"feature_probability": np.geomspace(1, 0.05, 6), "seed": range(2)},
                 fixed={"importance": ts.decaying_importance(5, 0.9)})
LOCAL = Launcher("local", tasks=3, time_minutes=10, poll_seconds=0.2)
FIELDS = ("W", "b", "loss_history", "diverged_step")


@pytest.fixture(scope="module")
def single_process():
    return ts.run_sweep(SWEEP, chunk_size=2, progress=False).dataset


def finish(submission, seconds: float = 300) -> None:
    """Wait (bounded) until no task of `submission` runs."""
    deadline = time.monotonic() + seconds
    while submission.running():
        assert time.monotonic() < deadline, f"tasks still running: {submission.store.tasks()}"
        time.sleep(0.2)


def assert_identical(ds, reference):
    for name in FIELDS:
        np.testing.assert_array_equal(ds[name].values, reference[name].values, err_msg=name)


def test_three_local_tasks_give_the_single_process_result(tmp_path, single_process,
                                                           monkeypatch):
    """Each task trains its share (every third chunk), records what it trained and wrote, and
    the launcher assembles the result once, loading and never training: the single-process
    result bit for bit."""
    submission = submit(SWEEP, tmp_path, LOCAL, chunk_size=2)
    assert submission.shares == [[(0, 2), (6, 8)], [(2, 4), (8, 10)], [(4, 6), (10, 12)]]
    finish(submission)
    store = submission.store
    tasks = store.tasks()
    assert sorted(tasks) == [0, 1, 2] and {s["state"] for s in tasks.values()} == {"finished"}
    trained = [tuple(c) for s in tasks.values() for c in s["trained"]]
    assert sorted(trained) == [(*c, 0) for c in chunk_bounds(12, 2)]  # each once, from step 0
    writers = {s["writer"]["pid"] for s in tasks.values()}
    assert len(writers) == 3 and os.getpid() not in writers
    entries = store.entries()
    assert len(entries) == 6 and {e["writer"]["pid"] for e in entries.values()} == writers
    assert "6 chunks of 2: 6 done, 0 running, 0 missing" in status(tmp_path)
    monkeypatch.setattr("toysuper.engine.train_chunk", None)  # assembling never trains
    monkeypatch.setattr("toysuper.run.train_chunk", None)
    assert_identical(submission.wait(progress=False).dataset, single_process)
    assert_identical(ts.load(tmp_path).dataset, single_process)
    assert not (tmp_path / "chunks").exists()  # assembled once, checkpoints cleared
    assert "finished (result.nc)" in status(tmp_path)
    again = launch_sweep(SWEEP, tmp_path, LOCAL, progress=False)  # loaded, nothing submitted
    assert_identical(again.dataset, single_process)


def test_a_killed_task_is_completed_by_launching_again(tmp_path):
    """Task 0 is killed (SIGKILL: no chance to save) inside its second chunk, after that chunk
    saved a mid-chunk state. The launch reports it; launching again trains only that chunk,
    from its saved step; the finished chunks are not touched."""
    sweep = dataclasses.replace(SWEEP, train=dataclasses.replace(SWEEP.train, steps=1600))
    options = dict(chunk_size=2, steps_per_call=50, checkpoint_every=50)
    first = submit(sweep, tmp_path, LOCAL, **options)
    store, target = first.store, first.shares[0][1]
    deadline = time.monotonic() + 240
    while True:  # every task has reported (so holds its chunks), task 0 is inside its 2nd
        tasks = store.tasks()
        task = tasks.get(0, {})
        if (task.get("current") == list(target) and target in store.chunks(partial=True)
                and all(i in tasks for i in range(len(first.shares)))):
            break
        assert task.get("state") != "finished", "task 0 finished before it could be killed"
        assert time.monotonic() < deadline, f"task 0 never reached {target}: {task}"
        time.sleep(0.01)
    os.kill(task["writer"]["pid"], signal.SIGSTOP)  # frozen, then checked, then killed
    assert target not in store.chunks(), "task 0 finished the chunk before it could be killed"
    meanwhile = submit(sweep, tmp_path, LOCAL, **options)  # tasks still hold what is missing
    assert meanwhile.jobs == [] and meanwhile.running()
    os.kill(task["writer"]["pid"], signal.SIGKILL)
    with pytest.raises(LaunchError, match=r"1 chunk\(s\) of .* are not finished \(6-8\); task "
                                          r"0 \(.*\): ended without a result \(killed"):
        first.wait(progress=False)
    assert "stopped (no longer running)" in status(tmp_path)
    kept = {name: entry for name, entry in store.entries().items() if ".partial" not in name}
    partial = store.load_partial(*target)
    saved_step = partial["history"].shape[-1] * sweep.train.log_every
    assert 0 < saved_step < sweep.train.steps

    second = submit(sweep, tmp_path, LOCAL, **options)
    assert second.shares == [[target]]  # only the missing chunk, to one new task
    finish(second)
    new_task = store.tasks()[max(store.tasks())]
    assert new_task["trained"] == [[*target, saved_step]] and new_task["loaded"] == []
    assert {n: e for n, e in store.entries().items() if n in kept} == kept  # not rewritten
    reference = ts.run_sweep(sweep, chunk_size=2, progress=False).dataset
    assert_identical(second.wait(progress=False).dataset, reference)


STRESS = textwrap.dedent("""
    import sys, time
    import numpy as np
    from pathlib import Path
    from toysuper.checkpoint import ChunkStore

    out, worker, start_at = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    store = ChunkStore(out, "cafe")
    time.sleep(max(0.0, start_at - time.time()))
    if worker < 0:  # a reader of the chunk every writer also writes (the same bits)
        seen, failures = 0, 0
        while time.time() < start_at + 4:
            got = store.load_chunk(999, 1002)
            seen += got is not None
            failures += got is None and seen > 0
        print(seen, failures)
        sys.exit(0)
    for i in range(10):
        start = (worker * 10 + i) * 3
        store.save_partial(start, start + 3, {"history": np.full((3, 4), worker)})
        store.save_chunk(start, start + 3, {"W": np.full((3, 5, 2), start, np.float32)})
        store.save_chunk(999, 1002, {"W": np.full((3, 5, 2), 999, np.float32)})
""")


def test_simultaneous_writers_lose_no_entry(tmp_path):
    """Six processes, started on the same instant, each finish ten chunks of their own (writing
    and then dropping a mid-chunk state for each) and all rewrite one shared chunk with the same
    bits, while a seventh reads that one: every chunk has its entry and checksum, no state or
    temporary file is left, and once the shared chunk was readable it never stopped being so."""
    script = tmp_path / "stress.py"
    script.write_text(STRESS)
    start_at = time.time() + 3
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / "out"), str(w),
                               str(start_at)], stdout=subprocess.PIPE, text=True)
             for w in range(-1, 6)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 7
    seen, failures = map(int, outputs[0].split())
    assert seen > 0 and failures == 0
    store = ChunkStore(tmp_path / "out", "cafe")
    assert len(store.chunks()) == 61 and store.chunks(partial=True) == []
    for start, stop in store.chunks():
        np.testing.assert_array_equal(store.load_chunk(start, stop)["W"], start)
    assert not [p.name for p in store.root.iterdir() if p.name.endswith(".tmp")]
    assert {e["writer"]["pid"] for name, e in store.entries().items()
            if not name.startswith("000000999")} == {p.pid for p in procs[1:]}


def test_a_manifest_of_toysuper_0_3_is_still_read(tmp_path):
    store = ChunkStore(tmp_path, "cafe")
    store.save_chunk(0, 2, {"W": np.ones(3)})
    entry = json.loads((store.root / "000000000-000000002.npz.json").read_text())
    (store.root / "000000000-000000002.npz.json").unlink()
    (store.root / "manifest.json").write_text(json.dumps({"000000000-000000002.npz": entry}))
    np.testing.assert_array_equal(store.load_chunk(0, 2)["W"], 1)
    assert store.chunks() == [(0, 2)]


def test_tasks_refuse_chunks_of_another_plan(tmp_path):
    from toysuper.results import open_result_dir
    from toysuper.run import train_chunks

    open_result_dir(tmp_path, SWEEP)
    with pytest.raises(ValueError, match=r"chunks=\(1, 3\) is invalid: chunks of 12 models"):
        train_chunks(SWEEP, tmp_path, [(1, 3)], chunk_size=2)
    with pytest.raises(ValueError, match=r"out=.* is invalid: a result directory prepared for"):
        train_chunks(SWEEP, tmp_path / "elsewhere", [(0, 2)], chunk_size=2)


def test_launcher_settings_are_checked():
    with pytest.raises(ValueError, match=r"kind='pbs' is invalid: one of local, slurm"):
        Launcher("pbs")
    with pytest.raises(ValueError, match=r"tasks=0 is invalid"):
        Launcher("local", tasks=0)
    with pytest.raises(ValueError, match=r"partition='gpu' is invalid: only with kind='slurm'"):
        Launcher("local", partition="gpu")


def test_a_slurm_launch_submits_one_job_array(tmp_path, stand_in_slurm):
    """Without a cluster: stand-ins for srun and sbatch record what Slurm would receive, one
    sbatch script for the whole array, with the launcher's settings."""
    launcher = Launcher("slurm", tasks=2, partition="gpu", gpus_per_task=2, cpus_per_task=8,
                        time_minutes=90, slurm={"account": "tms"})
    submission = submit(SWEEP, tmp_path / "out", launcher, chunk_size=3)
    assert submission.chunk_size == 4  # a multiple of each task's 2 GPUs
    assert submission.shares == [[(0, 4), (8, 12)], [(4, 8)]]
    assert [job.job_id for job in submission.jobs] == ["4242_0", "4242_1"]
    script = stand_in_slurm.read_text()
    for line in ("--array=0-1%2", "--partition=gpu", "--gpus-per-node=2", "--cpus-per-task=8",
                 "--time=90", "--account=tms", "--signal=USR2@", "--job-name=toysuper"):
        assert f"#SBATCH {line}" in script, line
    assert ChunkStore(tmp_path / "out").chunk_size() == 4  # every later launch keeps it


def test_cli_launcher_options(tmp_path, capsys, monkeypatch):
    seen = {}
    monkeypatch.setattr("toysuper.experiments.runner.run_experiment",
                        lambda *a, **k: seen.update(k) or {"claims": [], "experiment": "x",
                                                           "n_diverged": 0, "n_models": 0,
                                                           "figures": {}})
    main(["run", "intro", "--launcher", "slurm", "--tasks", "8", "--partition", "gpu",
          "--gpus-per-task", "1", "--time", "120"])
    assert seen["launcher"] == Launcher("slurm", tasks=8, partition="gpu", gpus_per_task=1,
                                        time_minutes=120)
    with pytest.raises(SystemExit) as exit_:
        main(["run", "intro", "--tasks", "3"])
    assert exit_.value.code == 2
    assert "--tasks only with --launcher local|slurm" in capsys.readouterr().err


def test_status_of_a_directory_that_is_not_a_result(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["status", str(tmp_path)])
    assert "a result directory (with config.json)" in capsys.readouterr().err


def test_task_alive_reads_the_process_on_this_host_and_the_heartbeat_elsewhere():
    here = {"state": "running", "writer": {"host": launch.socket.gethostname(),
                                           "pid": os.getpid()}, "time": time.time()}
    assert launch.task_alive(here)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not launch.task_alive(here | {"writer": here["writer"] | {"pid": dead.pid}})
    remote = {"state": "running", "writer": {"host": "elsewhere", "pid": 1}}
    assert launch.task_alive(remote | {"time": time.time() - 10})
    assert not launch.task_alive(remote | {"time": time.time() - launch.STALE_SECONDS - 1})
    assert not launch.task_alive(here | {"state": "finished"})
    assert not launch.task_alive(here | {"time": time.time() - launch.STALE_SECONDS - 1})


@pytest.mark.parametrize("dies_before", ["file", "final entry", "file, twice"])
def test_a_kill_while_a_state_is_replaced_leaves_a_readable_version(tmp_path, monkeypatch,
                                                                    dies_before):
    """Replacing a mid-chunk state is three atomic writes (entry for both versions, file, entry
    for the new one): a death before the file leaves the old state readable, a death before the
    last entry the new one, and two deaths before the file in a row still the old one."""
    from toysuper import checkpoint

    store = ChunkStore(tmp_path, "cafe")
    store.save_partial(0, 2, {"history": np.zeros(3)})
    real, writes = checkpoint.atomic_write_bytes, []

    def dying(path, data):
        writes.append(path.name)
        stage = "file" if path.name.endswith(".npz") else ("final entry" if len(writes) > 2
                                                           else "first entry")
        stage += ", twice" if "twice" in dies_before and stage == "file" else ""
        if stage == dies_before:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", dying)
    for _ in range(2 if "twice" in dies_before else 1):
        writes.clear()
        with pytest.raises(KeyboardInterrupt):
            store.save_partial(0, 2, {"history": np.ones(3) * (len(writes) + 1)})
    monkeypatch.setattr(checkpoint, "atomic_write_bytes", real)
    expected = 1 if dies_before == "final entry" else 0
    np.testing.assert_array_equal(store.load_partial(0, 2)["history"], expected)


def test_an_experiment_of_dependent_parts_runs_as_job_arrays(tmp_path, monkeypatch):
    """`run_experiment(..., launcher=...)`, as `toysuper run NAME --launcher local`: each part
    (SAEs trained on the toy models of the part before) goes through its own job array, split
    into one chunk per task, and equals training it here at that chunk size."""
    from toysuper.experiments import runner, sae_recovery
    from toysuper.results import read_config

    monkeypatch.setitem(sae_recovery.FIDELITY, "quick",
                        sae_recovery.Fidelity(2, 1, 200, 200, (0.1,), (5, 40), (1,)))
    report = runner.run_experiment("sae_recovery", out=tmp_path, progress=False,
                                   launcher=Launcher("local", tasks=2, poll_seconds=0.2))
    assert set(report["parts"]) == {"toy", "toy_m2", "sae", "sae_topk", "sae_m2"}
    for part in report["parts"]:
        sweep = ts.Sweep.from_dict(read_config(tmp_path / part)["sweep"])
        here = ts.run_sweep(sweep, chunk_size=-(-sweep.size // 2), progress=False)
        assert_identical(ts.load(tmp_path / part).dataset, here.dataset)
    assert "finished (result.nc)" in status(tmp_path)


def test_a_task_stopped_by_its_time_limit_is_requeued_and_resumes(tmp_path):
    """The signal Slurm sends a task before its time limit or a pre-emption (USR2, as submitit
    asks for): the task is requeued as it is, and its next run resumes the chunk from the saved
    mid-chunk state, ending with the uninterrupted result."""
    sweep = dataclasses.replace(SWEEP, train=dataclasses.replace(SWEEP.train, steps=1600))
    submission = submit(sweep, tmp_path, Launcher("local", tasks=1, poll_seconds=0.2),
                        chunk_size=12, steps_per_call=50, checkpoint_every=50)
    store, (job,) = submission.store, submission.jobs
    deadline = time.monotonic() + 240
    while not store.chunks(partial=True):
        assert time.monotonic() < deadline and not store.chunks(), "never caught mid-chunk"
        time.sleep(0.01)
    first = store.tasks()[0]["writer"]["pid"]
    os.kill(first, signal.SIGUSR2)
    finish(submission)
    task = store.tasks()[0]
    assert task["state"] == "finished" and task["writer"]["pid"] != first  # a new run
    (start, stop, resumed_from), = task["trained"]
    assert (start, stop) == (0, 12) and 0 < resumed_from < sweep.train.steps
    assert "Requeued job" in job.paths.stdout.read_text()
    np.testing.assert_array_equal(
        submission.wait(progress=False).dataset["W"].values,
        ts.run_sweep(sweep, chunk_size=12, progress=False).dataset["W"].values)
