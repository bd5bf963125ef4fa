"""Sharding the model axis over devices: on 4 forced CPU devices a sweep equals the
single-device one (DESIGN principle 3), for batched (vmap) and in-turn (lax.map) chunks."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json
    import jax
    import numpy as np
    import toysuper as ts
    from toysuper import engine

    devices = jax.devices()
    assert len(devices) == 4, devices
    cases = {
        # 10 models: chunks of 8 = 4 devices x 2, the second chunk padded
        "batched": ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=200, batch_size=256,
                                                                 log_every=50),
                            axes={"feature_probability": np.geomspace(1, 0.05, 5),
                                  "seed": range(2)}),
        # batch x n = 2**18: CPU chunks train their models in turn (lax.map)
        "in_turn": ts.Sweep(ts.ModelConfig(256, 4), ts.TrainConfig(steps=20, batch_size=1024,
                                                                   log_every=10),
                            axes={"feature_probability": [1.0, 0.3, 0.1, 0.03, 0.01]}),
    }
    out = {}
    for name, sweep in cases.items():
        whole = ts.run_sweep(sweep, devices=devices[:1], progress=False).dataset
        # the same per-device batch: chunks of 2 on one device, 8 = 4 x 2 on four
        two = ts.run_sweep(sweep, devices=devices[:1], chunk_size=2, progress=False).dataset
        four = ts.run_sweep(sweep, devices=devices, chunk_size=6, progress=False).dataset
        out[name] = {
            "in_turn": engine.models_per_block(sweep.model, sweep.train) == 1,
            "W_rel_diff": float(np.max(np.abs(whole["W"].values - four["W"].values))
                                / np.max(np.abs(whole["W"].values))),
            "loss_rel_diff": float(np.max(np.abs(whole["loss"].values - four["loss"].values)
                                          / np.abs(whole["loss"].values))),
            "bit_equal": all(np.array_equal(two[k].values, four[k].values)
                             for k in ("W", "b", "loss_history")),
        }
    sweep = cases["batched"]
    mesh = engine.model_mesh(devices)
    state = engine._init_chunk(jax.tree.map(lambda x: x[:8], sweep.grid_hyper()),
                                     np.uint32(0), sweep.model, sweep.train, mesh)
    out["shards"] = len({s.device for s in state.params.W.addressable_shards})
    out["chunk"] = engine.default_chunk_size(sweep, n_devices=4)
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def four_devices(tmp_path_factory):
    script = tmp_path_factory.mktemp("sharding") / "sharded.py"
    script.write_text(SCRIPT)
    env = os.environ | {"XLA_FLAGS": "--xla_force_host_platform_device_count=4",
                        "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_chunk_models_are_spread_over_all_devices(four_devices):
    assert four_devices["shards"] == 4
    assert four_devices["chunk"] % 4 == 0 and four_devices["chunk"] >= 10


@pytest.mark.parametrize("case", ["batched", "in_turn"])
def test_sharded_sweep_equals_single_device(four_devices, case):
    """Bit for bit at the same models per device; within float32 rounding of a differently
    batched vmap otherwise (as chunked against unchunked)."""
    got = four_devices[case]
    assert got["in_turn"] == (case == "in_turn")
    assert got["bit_equal"], got
    assert got["W_rel_diff"] < 1e-5 and got["loss_rel_diff"] < 1e-5, got
