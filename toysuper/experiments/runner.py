"""Run experiments into result directories and write the reproduction report.

`run_experiment(name, fidelity, seed, out)` writes into `out`:
    config.json, result.nc    the trained sweep (see `toysuper.results`); an experiment of several
                              sweeps keeps each in PART/config.json, PART/result.nc
    metrics.json              named metrics and the paper's claims with measured value and pass/fail
    NAME.png + NAME.json      each figure with its sidecar (experiment, fidelity, config hash,
                              package version, hardware, runtime)
`reproduce(fidelity, out)` runs every experiment into `out/NAME/` and writes `out/REPORT.md` and
`out/REPORT.html`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import jax

from toysuper.checkpoint import read_json
from toysuper.experiments import FIDELITIES, REGISTRY, get_experiment
from toysuper.experiments.base import sweep_parts
from toysuper.experiments.report import blocks, to_html, to_markdown
from toysuper.launch import Launcher, launch_sweep
from toysuper.plotting import save_figure
from toysuper.provenance import provenance
from toysuper.results import Result, atomic_write_bytes, result_path, stale, versions
from toysuper.run import run_sweep

METRICS_FILE = "metrics.json"


def hardware() -> str:
    """A one-line description of the machine and the JAX backend."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    device = jax.devices()[0]
    return (f"{cpu}, {os.cpu_count()} cores; jax {jax.__version__} on "
            f"{device.platform} ({device.device_kind}) x {jax.device_count()}")


def write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1) + "\n").encode())


def run_experiment(name: str, fidelity: str = "quick", seed: int = 0,
                   out: str | Path | None = None, *, overwrite: bool = False,
                   reuse_stale: bool = False, progress: bool = True,
                   gallery: str | Path | None = None, launcher: Launcher | None = None) -> dict:
    """Train (or reuse), analyse and plot one experiment; return the metrics.json content.

    With a `launcher` (`toysuper.launch.Launcher`), each part's chunks are trained by the
    tasks of a job array (local processes or Slurm), one part after another; analysis and
    figures run here once every part is assembled.

    With `gallery`, each figure is also copied there as STEM_FIDELITY.png with its sidecar JSON
    (how `figures/` in the repository is made). A result that other training code made is
    trained again unless `reuse_stale` (`toysuper.results.stale`).
    """
    experiment = get_experiment(name)
    if fidelity not in FIDELITIES:
        raise ValueError(f"fidelity={fidelity!r} is unknown: choose from {', '.join(FIDELITIES)}")
    out = Path(out or Path("results") / name)
    sweeps = experiment.sweep(fidelity, seed)
    parts = sweep_parts(sweeps)
    start = time.perf_counter()
    reused = not overwrite and all(
        (reuse_stale or not stale(out / part)) and result_path(out / part) is not None
        for part in parts)
    results = {}
    for part, s in parts.items():  # in order: a part may be built from the results before it
        parts[part] = s = s(dict(results)) if callable(s) else s
        meta = {"experiment": name, "fidelity": fidelity, "seed": seed} | (
            {"part": part} if part else {})
        if launcher is None:
            results[part] = run_sweep(s, out=out / part, overwrite=overwrite,
                                      reuse_stale=reuse_stale, progress=progress, meta=meta)
        else:
            results[part] = launch_sweep(s, out / part, launcher, overwrite=overwrite,
                                         reuse_stale=reuse_stale, progress=progress, meta=meta)
    train_seconds = time.perf_counter() - start
    metrics, claims, data = experiment.analyse(results if isinstance(sweeps, Mapping)
                                               else results[""])
    previous = _read_metrics(out) if reused else {}
    report = {
        "experiment": name, "section": experiment.section, "fidelity": fidelity, "seed": seed,
        "config_hash": combined_hash(parts),
        "n_models": sum(s.size for s in parts.values()),
        "steps": max(s.train.steps for s in parts.values()),
        "parts": {part or ".": {"n_models": s.size, "steps": s.train.steps,
                                "config_hash": s.config_hash()} for part, s in parts.items()},
        "n_diverged": sum(int(r.dataset["diverged"].values.sum()) for r in results.values()),
        "train_seconds": previous.get("train_seconds", round(train_seconds, 2)),
        "reused_result": reused, "hardware": hardware(), "versions": versions(),
        "choices": experiment.choices,
        "fidelity_settings": (dataclasses.asdict(experiment.fidelity[fidelity])
                              if experiment.fidelity else {}),
        "metrics": metrics,
        "claims": [{"section": experiment.section, **c.to_dict()} for c in claims],
    }
    figures = {}
    for stem, fig in experiment.figures(data).items():
        origin = provenance()
        sidecar = {"figure": f"{stem}.png", "experiment": name, "fidelity": fidelity,
                   "seed": seed, "config_hash": report["config_hash"], **origin,
                   "hardware": report["hardware"], "train_seconds": report["train_seconds"]}
        png = save_figure(fig, out / f"{stem}.png", metadata={
            "Software": f"toysuper {origin['toysuper']}", "Source": json.dumps(sidecar)})
        write_json(out / f"{stem}.json", sidecar)
        if gallery is not None:
            Path(gallery).mkdir(parents=True, exist_ok=True)
            copy = Path(gallery) / f"{stem}_{fidelity}.png"
            shutil.copyfile(png, copy)
            write_json(copy.with_suffix(".json"), sidecar | {"figure": copy.name})
        figures[stem] = png.name
    report["figures"] = figures
    report["total_seconds"] = round(time.perf_counter() - start, 2)
    write_json(out / METRICS_FILE, report)
    return report


def redraw(name: str, out: str | Path, fidelity: str = "quick", seed: int = 0) -> dict:
    """The figures of experiment `name` already run into `out`, drawn again from its results
    (loaded, analysed, plotted; never trained): {file stem: matplotlib Figure}.

    Raises:
      FileNotFoundError: `out` holds no finished result of one of its parts.
      ValueError: a part in `out` was trained with another config than `fidelity` and `seed`
        give.
    """
    experiment = get_experiment(name)
    sweeps = experiment.sweep(fidelity, seed)
    results = {part: Result.load(Path(out) / part) for part in sweep_parts(sweeps)}
    for part, s in sweep_parts(sweeps).items():
        if not callable(s) and s.config_hash() != results[part].config_hash:
            raise ValueError(f"out={str(out)!r} holds {name} part {part or '.'} of config "
                             f"{results[part].config_hash}, not {s.config_hash()} "
                             f"({fidelity} fidelity, seed {seed})")
    _, _, data = experiment.analyse(results if isinstance(sweeps, Mapping) else results[""])
    return experiment.figures(data)


def combined_hash(parts: dict) -> str:
    """The config hash of a single sweep, or a hash over the parts' names and hashes."""
    if list(parts) == [""]:
        return parts[""].config_hash()
    text = json.dumps({part: s.config_hash() for part, s in sorted(parts.items())})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read_metrics(out: Path) -> dict:
    return read_json(out / METRICS_FILE) or {}


def reproduce(fidelity: str = "quick", out: str | Path = "results",
              only: list[str] | None = None, progress: bool = True,
              gallery: str | Path | None = None, extensions: bool = False,
              reuse_stale: bool = False, launcher: Launcher | None = None) -> Path:
    """Run every experiment of the two papers (with `extensions`, also those beyond them; or
    `only` these) into out/NAME and write out/REPORT.md; with a `launcher`, as job arrays
    (`run_experiment`)."""
    names = only or [name for name, e in REGISTRY.items() if extensions or not e.extension]
    for name in names:
        get_experiment(name)
    out = Path(out)
    start = time.perf_counter()
    reports = []
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name} ({fidelity})", flush=True)
        reports.append(run_experiment(name, fidelity, out=out / name, progress=progress,
                                      gallery=gallery, reuse_stale=reuse_stale,
                                      launcher=launcher))
    report = blocks(reports, fidelity, time.perf_counter() - start, hardware(), versions())
    atomic_write_bytes(out / "REPORT.html", to_html(report).encode())
    path = out / "REPORT.md"
    atomic_write_bytes(path, to_markdown(report).encode())
    return path
