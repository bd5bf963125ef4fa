"""The CLI contract: list, run (files written), reproduce (REPORT.md), one-line errors."""

import dataclasses
import json

import numpy as np
import pytest

import toysuper as ts
from toysuper import experiments
from toysuper.cli import main
from toysuper.experiments import runner
from toysuper.experiments.base import sweep_parts


def test_list_prints_one_line_per_experiment(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(experiments.REGISTRY)


def shrink(sweep: ts.Sweep) -> ts.Sweep:
    """At most 5 values per axis (first, last and evenly between) and 200 steps (the rest of the
    training config, e.g. a fixed dataset, kept; snapshots up to step 200)."""
    axes = tuple(dataclasses.replace(a, values=a.values[idx], coords=a.coords[idx]) for a in
                 sweep.axes for idx in [np.unique(np.linspace(0, len(a) - 1, 5).round().astype(
                     int))])
    train = dataclasses.replace(sweep.train, steps=200, log_every=100,
                                warmup_steps=min(sweep.train.warmup_steps, 200),
                                snapshot_steps=tuple(s for s in sweep.train.snapshot_steps
                                                     if s <= 200))
    return ts.Sweep(sweep.model, train, axes=axes,
                    fixed=sweep.fixed, root_seed=sweep.root_seed)


def shrink_all(sweeps):
    """`shrink` a sweep or each part of an experiment of several sweeps (a part built from
    earlier results is shrunk once built)."""
    parts = {part: (lambda results, s=s: shrink(s(results))) if callable(s) else shrink(s)
             for part, s in sweep_parts(sweeps).items()}
    return parts[""] if list(parts) == [""] else parts


@pytest.fixture
def tiny(monkeypatch):
    """Every registered experiment with shrunken sweeps."""
    for name, experiment in list(experiments.REGISTRY.items()):
        tiny_experiment = dataclasses.replace(
            experiment, sweep=lambda fidelity, seed=0, e=experiment: shrink_all(e.sweep(fidelity,
                                                                                      seed)))
        monkeypatch.setitem(experiments.REGISTRY, name, tiny_experiment)


@pytest.mark.parametrize("name", list(experiments.REGISTRY))
def test_run_writes_the_contract_files(tiny, tmp_path, capsys, name):
    assert main(["run", name, "--out", str(tmp_path), "--seed", "3", "--no-progress",
                 "--gallery", str(tmp_path / "gallery")]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for stem in metrics["figures"]:
        for path in (tmp_path / f"{stem}.png", tmp_path / f"{stem}.json",
                     tmp_path / "gallery" / f"{stem}_quick.png"):
            assert path.stat().st_size > 0, path
        sidecar = json.loads((tmp_path / "gallery" / f"{stem}_quick.json").read_text())
        assert sidecar["figure"] == f"{stem}_quick.png" and sidecar["fidelity"] == "quick"
    assert metrics["claims"] and all(isinstance(c["passed"], bool) and "measured" in c
                                     for c in metrics["claims"])
    parts = sweep_parts(experiments.REGISTRY[name].sweep("quick", 3))
    for part in parts:  # an experiment of several sweeps keeps each in DIR/PART
        for file in ("config.json", "result.npz"):
            assert (tmp_path / part / file).stat().st_size > 0
        config = json.loads((tmp_path / part / "config.json").read_text())
        assert config["experiment"] == name and config["sweep"]["root_seed"] == 3
        result = ts.load(tmp_path / part)
        assert result.to_xarray()["W"].dims == (*(a.name for a in result.sweep.axes), "feature",
                                                "hidden")
    if "" not in parts:
        with pytest.raises(FileNotFoundError, match="load one of its parts"):
            ts.load(tmp_path)
    assert "claims passed" in capsys.readouterr().out


def test_reproduce_writes_report(tiny, tmp_path, monkeypatch):
    kept = ("intro", "correlated", "universality")  # two paper experiments and an extension
    for name in [n for n in experiments.REGISTRY if n not in kept]:
        monkeypatch.delitem(experiments.REGISTRY, name)
    path = runner.reproduce("quick", tmp_path, progress=False)
    text = path.read_text()
    assert "## intro (TMS 1)" in text and "![intro](intro/intro.png)" in text
    assert "## correlated " in text and "## universality " not in text
    assert "claims passed" in text
    # a second reproduce reuses the finished result; --extensions adds the extensions
    assert json.loads((tmp_path / "intro" / "metrics.json").read_text())["reused_result"] is False
    text = runner.reproduce("quick", tmp_path, progress=False, extensions=True).read_text()
    assert "## universality " in text
    assert json.loads((tmp_path / "intro" / "metrics.json").read_text())["reused_result"] is True
