"""`toysuper bench`: training throughput on the canonical shapes, against the PyTorch reference.

    toysuper bench [--only intro phase] [--repeats 3] [--scale 1] [--json bench.json]

Each case runs in a fresh subprocess (so compile time and peak memory are its own), then
`../shared/bench/torch_reference.py` (the paper notebook's PyTorch pattern) runs with the same
shapes and steps, one after the other on the same machine. Per case: models x steps per second
(median of the repeats), compile time (JAX's own accounting), peak memory (process RSS; XLA's
footprint of one chunk; the device's peak on an accelerator) and a roofline: a lower bound on
the operations and bytes one model-step needs (`Case.lower_bound`), the fastest rate the
machine's measured matmul and memory-copy peaks allow for it, and the measured rate as a
fraction of that.

Cases follow the reference's setup (relu_output, importance 0.9^i, densities 20^-linspace(0, 1),
batch 1024), except double descent: n=10,000, m=2, one fixed dataset of T=10,000 points trained
full batch (Henighan et al. 2023), which the reference (fresh batches) does not cover.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REFERENCE_ENV = "TOYSUPER_TORCH_REFERENCE"  # path to torch_reference.py, if not ../shared/bench
BATCH = 1024  # fresh samples per step, as the reference
DATASET_DENSITY = 1e-3  # S = 0.999, the double descent paper's sparsity
COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
                  "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "/jax/core/compile/backend_compile_duration")  # JAX's own compile accounting


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark shape: `models` models of n features in m hidden dimensions."""

    name: str
    models: int
    n: int
    m: int
    steps: int
    dataset_size: int | None = None  # a fixed dataset trained full batch, or fresh batches

    def max_active(self) -> int:
        """Slots per point of the fixed dataset (its active-feature bound at p = 1e-3)."""
        from toysuper.data import min_max_active

        return min_max_active(self.n, DATASET_DENSITY, self.dataset_size)

    def lower_bound(self) -> dict:
        """What one model-step must at least compute and move (the roofline's bound).

        Operations: the multiply-adds of the matrix products. Fresh batches of B rows take five
        (B x n x m) products, y = W (W^T x) + b and its gradient in W: 10 B n m flops. A fixed
        dataset of T points with K active slots takes the hidden vectors from the active
        features (2 T K m), the readout over all n outputs and its gradients in W and h (three
        T x n x m products, 6 T n m), and the hidden gradient's scatter into W (2 T K m).
        Elementwise work (drawing the batch, activations, the loss, AdamW) is not counted.
        Bytes: W, b and AdamW's two moments, each read and written once; fresh data drawn where
        it is used moves none, a fixed dataset's T x K (index, value) pairs are read once.
        """
        n, m = self.n, self.m
        state = 2 * 3 * 4 * (n * m + n)  # params and two moments, read and written, float32
        if self.dataset_size is None:
            return {"flops": 10 * BATCH * n * m, "bytes": state}
        points, slots = self.dataset_size, self.max_active()
        return {"flops": 6 * points * n * m + 4 * points * slots * m,
                "bytes": state + 8 * points * slots}

    def sweep(self, scale: float = 1.0):
        import toysuper as ts

        steps = max(10, round(self.steps * scale / 10) * 10)
        if self.dataset_size is None:
            return ts.Sweep(
                ts.ModelConfig(self.n, self.m, "relu_output"),
                ts.TrainConfig(steps=steps, batch_size=BATCH, log_every=10),
                axes={"feature_probability": ts.power_space(20, self.models)},
                fixed={"importance": ts.decaying_importance(self.n, 0.9), "lr": 1e-3,
                       "weight_decay": 0.01})
        dataset = ts.FixedDataset(self.dataset_size, self.max_active())
        return ts.Sweep(
            ts.ModelConfig(self.n, self.m, "relu_output"),
            ts.TrainConfig(steps=steps, log_every=10, objective=dataset),
            axes={"seed": range(self.models)},
            fixed={"feature_probability": DATASET_DENSITY, "dataset_size": self.dataset_size,
                   "lr": 1e-3, "weight_decay": 0.01})


CASES = {c.name: c for c in (
    Case("intro", 10, 5, 2, steps=2000),
    Case("phase", 16_000, 2, 1, steps=100),
    Case("geometry", 30, 400, 30, steps=20),
    Case("population_1k", 1_000, 20, 5, steps=50),
    Case("population", 10_000, 20, 5, steps=10),
    Case("double_descent", 1, 10_000, 2, steps=50, dataset_size=10_000),
)}


def reference_path() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "bench" / "torch_reference.py"
    return Path(os.environ.get(REFERENCE_ENV, default))


def peak_rss_bytes() -> int:
    """This process's peak resident memory: VmHWM on Linux (getrusage's maxrss would carry the
    parent's peak across fork and exec), else getrusage."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def machine_peaks() -> dict:
    """Measured peaks of the default device: float32 matmul FLOP/s (4096^3) and memory bandwidth
    in bytes/s (x <- x + 1 in place over 256 MiB: one read and one write), best of 5 each."""
    import jax
    import jax.numpy as jnp

    def best(fn, x) -> float:
        x = jax.block_until_ready(fn(x))
        times = []
        for _ in range(5):
            start = time.perf_counter()
            x = jax.block_until_ready(fn(x))
            times.append(time.perf_counter() - start)
        return min(times)

    a = jnp.ones((4096, 4096), jnp.float32)
    size = 64 << 20
    return {"matmul_flops_per_s": 2 * 4096**3 / best(jax.jit(lambda x: x @ a), a),
            "copy_bytes_per_s": 8 * size / best(jax.jit(lambda v: v + 1.0, donate_argnums=0),
                                                jnp.ones(size, jnp.float32))}


def step_cost(sweep) -> dict:
    """XLA's cost analysis of one model's single training step (the sweep's compiled chunk at one
    model and one step): operations ("flops": every elementwise op and multiply-add counts) and
    bytes accessed."""
    from toysuper.engine import compiled_chunk

    one_step = dataclasses.replace(sweep, train=dataclasses.replace(sweep.train, steps=1,
                                                                    log_every=1))
    cost = compiled_chunk(one_step, 1).cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return {"flops": float(cost.get("flops", 0.0)), "bytes": float(cost.get("bytes accessed", 0.0))}


def measure_case(case: Case, repeats: int, scale: float) -> dict:
    """Time `run_sweep` on the case: a first call, whose tracing, lowering and XLA compilation
    time JAX's monitoring events report (`COMPILE_EVENTS`), then `repeats` timed calls."""
    import jax

    import toysuper as ts
    from toysuper import engine

    sweep = case.sweep(scale)
    compiling = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, duration, **_: compiling.append(duration) if event in COMPILE_EVENTS
        else None)
    ts.run_sweep(sweep, progress=False)
    compile_seconds = sum(compiling)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        ts.run_sweep(sweep, progress=False)
        seconds.append(time.perf_counter() - start)
    chunk = engine.default_chunk_size(sweep, n_devices=jax.device_count())
    device = jax.devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    return {
        "steps": sweep.train.steps, "seconds": seconds,
        "model_steps_per_s": [sweep.size * sweep.train.steps / s for s in seconds],
        "compile_seconds": compile_seconds,
        "chunk_size": chunk, "peak_rss_bytes": peak_rss_bytes(),
        "xla_chunk_bytes": engine.chunk_memory_bytes(sweep, chunk // jax.device_count()),
        "device_peak_bytes": (stats or {}).get("peak_bytes_in_use"),
        "cost_per_model_step": step_cost(sweep),
    }


REFERENCE_WRAPPER = """
import json, runpy, sys
from toysuper.bench import peak_rss_bytes
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
peak = None
try:
    import torch
    peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
except ImportError:
    pass
print(json.dumps({"peak_rss_bytes": peak_rss_bytes(), "device_peak_bytes": peak}))
"""


def measure_reference(case: Case, repeats: int, scale: float) -> dict | str:
    """The PyTorch reference on the same shapes and steps, or why it was not run."""
    if case.dataset_size is not None:
        return "not applicable: the reference trains on fresh batches, not a fixed dataset"
    path = reference_path()
    if not path.exists():
        return f"not found: {path} (set ${REFERENCE_ENV})"
    steps = case.sweep(scale).train.steps
    runs = []
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, "-c", REFERENCE_WRAPPER, str(path), "--instances", str(case.models),
             "--features", str(case.n), "--hidden", str(case.m), "--steps", str(steps)],
            capture_output=True, text=True)
        if proc.returncode != 0:
            return "failed: " + (proc.stderr.strip().splitlines() or ["no output"])[-1]
        lines = proc.stdout.strip().splitlines()
        runs.append(json.loads(lines[-2]) | json.loads(lines[-1]))
    return {"steps": steps, "seconds": [r["seconds"] for r in runs],
            "model_steps_per_s": [r["instance_steps_per_s"] for r in runs],
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
            "device_peak_bytes": runs[0]["device_peak_bytes"], "threads": runs[0]["threads"],
            "device": runs[0]["device"]}


def roofline(bound: dict, cost: dict, rate: float, peaks: dict) -> dict:
    """The measured rate against the fastest the machine allows for the case's lower bound
    (`Case.lower_bound`): min(peak FLOP/s / flops, peak bandwidth / bytes) model-steps per
    second, and which of the two sets it. XLA's own count of operations and bytes per
    model-step (`cost`: every elementwise op, and traffic between fused ops that mostly stays
    in cache) is kept for reference, as the rate it would give at the matmul peak."""
    compute = peaks["matmul_flops_per_s"] / bound["flops"]
    memory = peaks["copy_bytes_per_s"] / bound["bytes"]
    best = min(compute, memory)
    return {"bound_flops": bound["flops"], "bound_bytes": bound["bytes"],
            "bound_model_steps_per_s": best, "limit": "compute" if compute <= memory else "memory",
            "fraction_of_bound": rate / best,
            "xla_flops": cost["flops"], "xla_bytes": cost["bytes"],
            "xla_fraction_of_peak_flops": cost["flops"] * rate / peaks["matmul_flops_per_s"]}


def run_worker(name: str, repeats: int, scale: float) -> dict:
    """Measure one case in a fresh interpreter; its last stdout line is the JSON."""
    proc = subprocess.run([sys.executable, "-m", "toysuper.bench", "--worker", name,
                           "--repeats", str(repeats), "--scale", str(scale)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench case {name} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def gib(x) -> str:
    return "-" if x is None else f"{x / 2**30:.2f}"


def bench(names: list[str] | None = None, repeats: int = 3, scale: float = 1.0,
          reference: bool = True, json_path: str | Path | None = None) -> dict:
    """Run the cases (default all), print a table and return (and optionally write) the JSON."""
    import jax

    from toysuper.experiments.runner import hardware

    names = list(CASES) if names is None else names
    peaks = machine_peaks()
    print(f"{hardware()}\nmeasured peaks: {peaks['matmul_flops_per_s'] / 1e9:.0f} GFLOP/s "
          f"(f32 matmul), {peaks['copy_bytes_per_s'] / 1e9:.1f} GB/s (copy)", flush=True)
    header = (f"{'case':<15}{'models':>7}{'n':>6}{'m':>4}{'steps':>6}{'toysuper/s':>12}"
              f"{'torch/s':>10}{'ratio':>7}{'compile s':>10}{'RSS GiB':>8}{'torch GiB':>10}"
              f"{'bound/s':>12}{'limit':>8}{'% bound':>8}")
    print(header, flush=True)
    rows = []
    for name in names:
        case = CASES[name]
        ours = run_worker(name, repeats, scale)
        ref = measure_reference(case, repeats, scale) if reference else "not run (--no-reference)"
        rate = median(ours["model_steps_per_s"])
        ref_rate = median(ref["model_steps_per_s"]) if isinstance(ref, dict) else float("nan")
        line = roofline(case.lower_bound(), ours["cost_per_model_step"], rate, peaks)
        rows.append(dataclasses.asdict(case) | {
            "toysuper": ours, "torch": ref, "toysuper_median": rate, "torch_median": ref_rate,
            "ratio": rate / ref_rate, "roofline": line})
        print(f"{name:<15}{case.models:>7}{case.n:>6}{case.m:>4}{ours['steps']:>6}{rate:>12,.0f}"
              f"{ref_rate:>10,.0f}{rate / ref_rate:>6.2f}x{ours['compile_seconds']:>10.1f}"
              f"{gib(ours['peak_rss_bytes']):>8}"
              f"{gib(ref['peak_rss_bytes'] if isinstance(ref, dict) else None):>10}"
              f"{line['bound_model_steps_per_s']:>12,.0f}{line['limit']:>8}"
              f"{line['fraction_of_bound']:>8.1%}",
              flush=True)
    out = {"hardware": hardware(), "jax": jax.__version__, "repeats": repeats, "scale": scale,
           "command": " ".join(["toysuper", *sys.argv[1:]]), "peaks": peaks, "cases": rows}
    if json_path is not None:
        Path(json_path).write_text(json.dumps(out, indent=1) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    """Worker entry point: `python -m toysuper.bench --worker CASE` prints one JSON line."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", choices=list(CASES), required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    print(json.dumps(measure_case(CASES[args.worker], args.repeats, args.scale)))


if __name__ == "__main__":
    main()
