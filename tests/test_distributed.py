"""Multi-process JAX (`jax.distributed`): two processes on this machine, two CPU devices each,
one sweep over a mesh spanning all four devices, stopped mid-chunk and resumed; the result
equals the single-process one bit for bit, and only process 0 writes to the result directory."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import toysuper as ts

SWEEP_CODE = """
import numpy as np, toysuper as ts
SWEEP = ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=300, batch_size=128, log_every=50),
                 axes={"feature_probability": np.geomspace(1, 0.05, 5), "seed": range(2)},
                 fixed={"importance": ts.decaying_importance(5, 0.9)})
"""

PROCESS = textwrap.dedent("""
    import json, os, sys
    import jax

    address, process, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(address, num_processes=2, process_id=process)
    assert jax.process_count() == 2 and jax.device_count() == 4, jax.devices()

    from toysuper import checkpoint, results
    written = []

    def recording(real):
        def write(path, data):
            written.append(os.path.relpath(path, out))
            return real(path, data)
        return write

    for module in (checkpoint, results):
        module.atomic_write_bytes = recording(checkpoint.atomic_write_bytes)
    checkpoint.atomic_create_bytes = results.atomic_create_bytes = recording(
        checkpoint.atomic_create_bytes)
""") + SWEEP_CODE + textwrap.dedent("""
    # 10 models in chunks of 8: two per device, the second chunk padded; a mid-chunk
    # checkpoint after every call, decided by time (process 0 decides for both). The first
    # attempt stops in both processes after 3 of the first chunk's 6 calls; the second resumes.
    from toysuper import engine
    real, calls = engine._advance_chunk, []

    def stopping(*args, **kwargs):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)

    options = dict(out=out, chunk_size=8, steps_per_call=50, checkpoint_seconds=0.0,
                   progress=False)
    engine._advance_chunk = stopping
    try:
        ts.run_sweep(SWEEP, **options)
    except KeyboardInterrupt:
        pass
    engine._advance_chunk = real
    result = ts.run_sweep(SWEEP, **options)
    ds = result.dataset
    arrays = {k: ds[k].values.tolist() for k in ("W", "b", "loss_history", "diverged_step")}
    print(json.dumps({"process": process, "written": written, "arrays": arrays}))
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("distributed")
    script = tmp / "process.py"
    script.write_text(PROCESS)
    env = os.environ | {"XLA_FLAGS": "--xla_force_host_platform_device_count=2",
                        "JAX_PLATFORMS": "cpu"}
    address = f"localhost:{free_port()}"
    logs = [(tmp / f"{i}.out", tmp / f"{i}.err") for i in range(2)]
    procs = []
    for i, (out, err) in enumerate(logs):  # files, not pipes: no process blocks on a full one
        with open(out, "w") as stdout, open(err, "w") as stderr:
            procs.append(subprocess.Popen(
                [sys.executable, str(script), address, str(i), str(tmp / "out")],
                stdout=stdout, stderr=stderr, env=env))
    try:
        for p in procs:
            p.wait(timeout=300)
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, logs, strict=True):
        assert p.returncode == 0, err.read_text()[-3000:]
    return tmp / "out", [json.loads(out.read_text().strip().splitlines()[-1])
                         for out, _ in logs]


def test_two_processes_equal_one(two_processes):
    """Bit for bit, although the two-process run was stopped and resumed: two models per
    device in both runs (as the sharding tests)."""
    namespace: dict = {}
    exec(SWEEP_CODE, namespace)
    single = ts.run_sweep(namespace["SWEEP"], devices=jax.devices()[:1], chunk_size=2,
                          progress=False).dataset
    out, reports = two_processes
    for report in reports:
        for name, values in report["arrays"].items():
            np.testing.assert_array_equal(np.asarray(values, single[name].dtype),
                                          single[name].values, err_msg=name)
    np.testing.assert_array_equal(ts.load(out).dataset["W"].values, single["W"].values)


def test_only_process_zero_writes(two_processes):
    _, reports = two_processes
    by_process = {r["process"]: r["written"] for r in reports}
    assert by_process[1] == []
    written = by_process[0]
    assert "config.json" in written and "result.nc" in written
    assert "chunks/000000000-000000008.npz" in written
    assert "chunks/000000000-000000008.partial.npz" in written  # mid-chunk states too
