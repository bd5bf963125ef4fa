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
    # the roofline's lower bound never exceeds what XLA counts
    assert bench.Case("c", 2, n, m, steps=10).lower_bound()["flops"] <= costs[1024]["flops"]


def test_the_fixed_dataset_bound_counts_the_products_and_reads_the_set_once():
    case = bench.CASES["double_descent"]
    bound, slots = case.lower_bound(), case.max_active()
    n, m, points = case.n, case.m, case.dataset_size
    assert bound["flops"] == 6 * points * n * m + 4 * points * slots * m
    assert bound["bytes"] == 24 * (n * m + n) + 8 * points * slots
    assert bound["flops"] <= bench.step_cost(case.sweep(0.2))["flops"]


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
    line, peaks = intro["roofline"], result["peaks"]
    assert line["bound_flops"] == 10 * 1024 * 5 * 2 and line["bound_bytes"] == 24 * (10 + 5)
    best = min(peaks["matmul_flops_per_s"] / line["bound_flops"],
               peaks["copy_bytes_per_s"] / line["bound_bytes"])
    assert line["fraction_of_bound"] == pytest.approx(intro["toysuper_median"] / best)
    assert 0 < ours["compile_seconds"] < 60
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
