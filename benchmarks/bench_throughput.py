"""Training throughput of toysuper against the PyTorch reference, measured in the same run.

    python benchmarks/bench_throughput.py [--repeats 3] [--json benchmarks/results.json]

For each case (models, n, m; batch 1024) it times a whole `run_sweep` (compile excluded: the first
call compiles, the next `repeats` calls are timed) and `../shared/bench/torch_reference.py` with the
same shapes and steps, in subprocesses run one after the other on the same machine. Prints a table
of medians (models x steps per second) and the speed-up, and writes every repeat as JSON.
Needs torch for the reference (`pip install -e ".[bench]"`); without it only toysuper is timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np

import toysuper as ts
from toysuper.experiments.runner import hardware

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "torch_reference.py"
CASES = [  # (name, models, n_features, n_hidden, steps)
    ("intro", 10, 5, 2, 2000),
    ("phase", 16000, 2, 1, 100),
    ("population", 1000, 20, 5, 100),
]


def case_sweep(models: int, n: int, m: int, steps: int) -> ts.Sweep:
    """The reference's setup: I_i = 0.9^i, densities 20^-linspace(0, 1, models), one seed each."""
    return ts.Sweep(
        ts.ModelConfig(n, m, "relu_output"),
        ts.TrainConfig(steps=steps, batch_size=1024, log_every=steps // 10 if steps >= 10 else 1),
        axes={"feature_probability": ts.power_space(20, models)},
        fixed={"importance": ts.decaying_importance(n, 0.9), "lr": 1e-3, "weight_decay": 0.01},
    )


def time_toysuper(sweep: ts.Sweep, repeats: int) -> dict:
    start = time.perf_counter()
    jax.block_until_ready(ts.run_sweep(sweep, progress=False).dataset["W"].values)
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        ts.run_sweep(sweep, progress=False)
        runs.append(time.perf_counter() - start)
    rate = [sweep.size * sweep.train.steps / s for s in runs]
    return {"seconds": runs, "instance_steps_per_s": rate,
            "compile_seconds": max(0.0, first - statistics.median(runs))}


def time_reference(models: int, n: int, m: int, steps: int, repeats: int) -> dict | None:
    runs = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, str(REFERENCE), "--instances", str(models),
                               "--features", str(n), "--hidden", str(m), "--steps", str(steps)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"torch reference unavailable: {proc.stderr.strip().splitlines()[-1]}")
            return None
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {"seconds": [r["seconds"] for r in runs],
            "instance_steps_per_s": [r["instance_steps_per_s"] for r in runs],
            "threads": runs[0]["threads"], "device": runs[0]["device"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="write all measurements here")
    parser.add_argument("--only", nargs="+", choices=[c[0] for c in CASES])
    args = parser.parse_args()
    rows = []
    for name, models, n, m, steps in CASES:
        if args.only and name not in args.only:
            continue
        ours = time_toysuper(case_sweep(models, n, m, steps), args.repeats)
        ref = time_reference(models, n, m, steps, args.repeats)
        ours_med = statistics.median(ours["instance_steps_per_s"])
        ref_med = statistics.median(ref["instance_steps_per_s"]) if ref else float("nan")
        rows.append({"case": name, "models": models, "n": n, "m": m, "steps": steps,
                     "batch": 1024, "toysuper": ours, "torch": ref,
                     "toysuper_median": ours_med, "torch_median": ref_med,
                     "speedup": ours_med / ref_med})
        print(f"{name:<11} {models:>5} models n={n:<3} m={m:<2} steps={steps:<5} "
              f"toysuper {ours_med:>10.0f}/s (compile {ours['compile_seconds']:.1f}s)  "
              f"torch {ref_med:>9.0f}/s  speed-up {ours_med / ref_med:5.2f}x", flush=True)
    out = {"hardware": hardware(), "repeats": args.repeats, "jax": jax.__version__,
           "numpy": np.__version__, "command": " ".join(sys.argv), "cases": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
