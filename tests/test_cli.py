"""The CLI contract: list, run (files written), reproduce (REPORT.md), one-line errors."""

import dataclasses
import json

import pytest

import toysuper as ts
from toysuper import experiments
from toysuper.cli import main
from toysuper.experiments import intro, runner


def test_list_prints_one_line_per_experiment(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(experiments.REGISTRY)


@pytest.fixture
def tiny_intro(monkeypatch):
    """The intro experiment with a 2-seed, 200-step sweep."""
    def tiny_sweep(fidelity, root_seed=0):
        s = intro.sweep(fidelity, root_seed)
        return ts.Sweep(s.model, ts.TrainConfig(steps=200, log_every=100), axes={
            "feature_probability": s.axes[0].values[[0, 5, 9]], "seed": range(2)},
            fixed=s.fixed, root_seed=root_seed)

    tiny = dataclasses.replace(intro.EXPERIMENT, sweep=tiny_sweep)
    monkeypatch.setitem(experiments.REGISTRY, "intro", tiny)


def test_run_writes_the_contract_files(tiny_intro, tmp_path, capsys):
    assert main(["run", "intro", "--out", str(tmp_path), "--seed", "3", "--no-progress",
                 "--gallery", str(tmp_path / "gallery")]) == 0
    sidecar = json.loads((tmp_path / "gallery" / "intro_quick.json").read_text())
    assert sidecar["figure"] == "intro_quick.png" and sidecar["fidelity"] == "quick"
    assert (tmp_path / "gallery" / "intro_quick.png").stat().st_size > 0
    for name in ("config.json", "result.npz", "metrics.json", "intro.png", "intro.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["experiment"] == "intro" and config["sweep"]["root_seed"] == 3
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert {c["name"] for c in metrics["claims"]} == {
        "dense_top2_orthogonal", "s80_two_antipodal_pairs", "s90_pentagon"}
    assert all(isinstance(c["passed"], bool) for c in metrics["claims"])
    ds = ts.load(tmp_path).to_xarray()
    assert ds["W"].dims == ("feature_probability", "seed", "feature", "hidden")
    assert "claims passed" in capsys.readouterr().out


def test_reproduce_writes_report(tiny_intro, tmp_path):
    path = runner.reproduce("quick", tmp_path, progress=False)
    text = path.read_text()
    assert "## intro (TMS 1)" in text and "![intro](intro/intro.png)" in text
    assert "claims passed" in text
    # a second reproduce reuses the finished result
    assert json.loads((tmp_path / "intro" / "metrics.json").read_text())["reused_result"] is False
    runner.reproduce("quick", tmp_path, progress=False)
    assert json.loads((tmp_path / "intro" / "metrics.json").read_text())["reused_result"] is True
