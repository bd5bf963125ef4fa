"""`toysuper bench`: the cost model against the matmul count, the table's arithmetic, and the
persistent compilation cache of CLI runs."""

import dataclasses
import json
import os
import statistics
import subprocess
import sys

import pytest

from toysuper import bench
from toysuper.cli import main


@pytest.mark.parametrize("n, m", [(20, 5), (400, 30)])
def test_step_cost_scales_with_batch_and_covers_the_matmuls(n, m):
    """XLA's count for one step grows linearly with the batch and includes at least the five
    (batch x n x m) products of the forward and backward passes."""
    costs = {}
    for batch in (1024, 2048):
        sweep = bench.Case("c", 2, n, m, steps=10).sweep()
        sweep = dataclasses.replace(sweep, train=dataclasses.replace(sweep.train,
                                                                     batch_size=batch))
        costs[batch] = bench.step_cost(sweep)
    assert costs[2048]["flops"] == pytest.approx(2 * costs[1024]["flops"], rel=0.1)
    assert costs[1024]["flops"] >= 5 * 2 * 1024 * n * m
    assert costs[1024]["bytes"] > 4 * 1024 * n  # at least the batch itself


FAKE_REFERENCE = """
import json, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
print(json.dumps({"seconds": 2.0, "device": "cpu", "threads": 1,
                  "instance_steps_per_s": int(args["--instances"]) * int(args["--steps"]) / 2.0}))
"""


def test_bench_table_against_a_reference(tmp_path, monkeypatch, capsys):
    fake = tmp_path / "reference.py"
    fake.write_text(FAKE_REFERENCE)
    monkeypatch.setenv(bench.REFERENCE_ENV, str(fake))
    out = tmp_path / "bench.json"
    main(["bench", "--only", "intro", "--repeats", "2", "--scale", "0.005", "--json", str(out)])
    result = json.loads(out.read_text())
    (intro,) = result["cases"]
    ours = intro["toysuper"]
    assert ours["steps"] == 10 and len(ours["seconds"]) == 2
    for s, rate in zip(ours["seconds"], ours["model_steps_per_s"], strict=True):
        assert rate == pytest.approx(10 * 10 / s)
    assert intro["toysuper_median"] == statistics.median(ours["model_steps_per_s"])
    assert intro["torch_median"] == pytest.approx(10 * 10 / 2.0)  # the fake reference's rate
    assert intro["ratio"] == pytest.approx(intro["toysuper_median"] / 50.0)
    flops = ours["cost_per_model_step"]["flops"] * intro["toysuper_median"]
    assert intro["roofline"]["fraction_of_peak_flops"] == pytest.approx(
        flops / result["peaks"]["matmul_flops_per_s"])
    assert 0 < ours["xla_chunk_bytes"] < ours["peak_rss_bytes"]
    assert "intro" in capsys.readouterr().out


def test_reference_is_not_run_where_it_does_not_apply():
    why = bench.measure_reference(bench.CASES["double_descent"], repeats=1, scale=1.0)
    assert why.startswith("not applicable")


def test_bench_rejects_bad_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--only", "nope"])
    assert exit_.value.code == 2 and "intro" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "--scale", "0"])


CACHED_RUN = """
import jax, toysuper as ts
from toysuper.cli import use_compilation_cache
hits = []
jax.monitoring.register_event_listener(
    lambda event, **_: hits.append(1) if event == "/jax/compilation_cache/cache_hits" else None)
use_compilation_cache()
ts.run_sweep(ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=20, log_every=10),
                      axes={"seed": range(3)}), progress=False)
print(len(hits))
"""


def test_a_second_cli_process_reuses_the_compilations(tmp_path):
    env = os.environ | {"TOYSUPER_CACHE_DIR": str(tmp_path / "cache")}
    hits = [int(subprocess.run([sys.executable, "-c", CACHED_RUN], env=env, check=True,
                               capture_output=True, text=True).stdout.split()[-1])
            for _ in range(2)]
    assert hits[0] == 0 and hits[1] >= 1
    assert any("advance_chunk" in p.name for p in (tmp_path / "cache").iterdir())
