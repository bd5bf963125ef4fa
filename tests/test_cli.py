"""The CLI contract: list, run (files written), reproduce (REPORT.md), one-line errors."""

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

import toysuper as ts
from toysuper import experiments
from toysuper.cli import main
from toysuper.experiments import runner
from toysuper.experiments.base import sweep_parts


def test_list_prints_an_aligned_row_per_experiment(capsys):
    """A header, then per experiment a row whose columns line up with the header's (name,
    section, models x steps per fidelity, as its sweeps give them) and its description."""
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.rstrip().splitlines()
    header, rows = lines[0], [line for line in lines[1:] if not line.startswith(" ")]
    assert [row.split()[0] for row in rows] == list(experiments.REGISTRY)
    starts = [header.index(h) for h in ("section", "quick:", "paper:")]
    intro = experiments.REGISTRY["intro"]
    for fidelity, start in zip(("quick", "paper"), starts[1:], strict=True):
        sweep = intro.sweep(fidelity)
        assert rows[0][start:].startswith(f"{sweep.size:,} x {sweep.train.steps:,}")
    for row in rows:
        assert all(row[s - 2:s] == "  " and row[s] != " " for s in starts)
        assert len(row) <= 100
    assert all(len(line) <= 100 for line in lines)


def test_help_is_fast_and_does_not_load_jax():
    """`toysuper --help` in well under a second: the CLI lists the experiments from a catalogue
    and imports JAX only to run them."""
    code = ("import sys, time; t = time.perf_counter(); from toysuper.cli import build_parser; "
            "build_parser().format_help(); print(time.perf_counter() - t, 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[1] == "False" and float(out[0]) < 0.5
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "toysuper.cli", "--help"], capture_output=True,
                   check=True)
    assert time.perf_counter() - start < 1.0


def test_the_catalogue_matches_the_registry():
    from toysuper.catalogue import CATALOGUE

    assert list(CATALOGUE) == list(experiments.REGISTRY)
    for name, e in experiments.REGISTRY.items():
        assert (CATALOGUE[name].section, CATALOGUE[name].description,
                CATALOGUE[name].extension) == (e.section, e.description, e.extension)


def shrink(sweep: ts.Sweep) -> ts.Sweep:
    """At most 5 values per axis (first, last and evenly between) and 200 steps."""
    return sweep.smaller(steps=200, **{a.name: 5 for a in sweep.axes})


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
        assert (tmp_path / f"{stem}.pdf").stat().st_size > 0  # the vector copy
        with Image.open(tmp_path / f"{stem}.png") as png:  # provenance in the PNG itself
            assert json.loads(png.text["Source"])["toysuper"] == ts.__version__
    assert metrics["claims"] and all(isinstance(c["passed"], bool) and "measured" in c
                                     for c in metrics["claims"])
    parts = sweep_parts(experiments.REGISTRY[name].sweep("quick", 3))
    for part in parts:  # an experiment of several sweeps keeps each in DIR/PART
        for file in ("config.json", "result.nc"):
            assert (tmp_path / part / file).stat().st_size > 0
        config = json.loads((tmp_path / part / "config.json").read_text())
        assert config["experiment"] == name and config["sweep"]["root_seed"] == 3
        assert {"git_commit", "date", "backend", "device"} <= config["provenance"].keys()
        result = ts.load(tmp_path / part)
        assert result.to_xarray()["W"].dims == (*(a.name for a in result.sweep.axes), "feature",
                                                "hidden")
    if "" not in parts:
        with pytest.raises(FileNotFoundError, match="load one of its parts"):
            ts.load(tmp_path)
    assert "claims passed" in capsys.readouterr().out


def test_redraw_draws_a_finished_runs_figures_again_without_training(tiny, tmp_path,
                                                                   monkeypatch):
    report = runner.run_experiment("correlated", "quick", 3, tmp_path, progress=False)
    monkeypatch.setattr(runner, "run_sweep", None)  # redraw never trains
    figures = runner.redraw("correlated", tmp_path, seed=3)
    assert set(figures) == set(report["figures"])
    stem = sorted(figures)[0]
    figures[stem].savefig(tmp_path / "again.png", dpi=150, bbox_inches="tight")  # save_figure's
    with Image.open(tmp_path / "again.png") as again, \
            Image.open(tmp_path / report["figures"][stem]) as saved:
        assert again.size == saved.size
        assert np.array_equal(np.asarray(again), np.asarray(saved))  # the same picture
    with pytest.raises(ValueError, match="seed 0"):
        runner.redraw("correlated", tmp_path)
    with pytest.raises(FileNotFoundError):
        runner.redraw("intro", tmp_path / "none")


def test_reproduce_writes_report(tiny, tmp_path, monkeypatch):
    kept = ("intro", "correlated", "universality")  # two paper experiments and an extension
    for name in [n for n in experiments.REGISTRY if n not in kept]:
        monkeypatch.delitem(experiments.REGISTRY, name)
    path = runner.reproduce("quick", tmp_path, progress=False)
    text = path.read_text()
    assert "## intro (TMS 1)" in text and "![intro](intro/intro.png)" in text
    assert "## correlated " in text and "## universality " not in text
    assert text.index("claims passed** at quick fidelity") < text.index("## intro")  # on top
    page = (tmp_path / "REPORT.html").read_text()
    assert "<h2>intro (TMS 1)</h2>" in page and "src='intro/intro.png'" in page
    assert page.count("<table>") == 3 and "<b>" in page
    # a second reproduce reuses the finished result; --extensions adds the extensions
    assert json.loads((tmp_path / "intro" / "metrics.json").read_text())["reused_result"] is False
    text = runner.reproduce("quick", tmp_path, progress=False, extensions=True).read_text()
    assert "## universality " in text
    assert json.loads((tmp_path / "intro" / "metrics.json").read_text())["reused_result"] is True


def test_readme_blocks_are_generated_from_metrics(tmp_path):

    claim = {"name": "c", "statement": "TMS 1: s", "paper": "p", "measured": {"x": 1},
             "passed": False, "evidence": "", "verdict": "not reached at this fidelity"}
    report = {"experiment": "intro", "section": "TMS 1", "fidelity": "quick", "n_models": 3,
              "config_hash": "abc", "claims": [claim, claim | {"passed": True,
                                                                "verdict": "reproduced"}]}
    (tmp_path / "intro").mkdir()
    (tmp_path / "intro" / "metrics.json").write_text(json.dumps(report))
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- toysuper:status -->\nold\n<!-- /toysuper:status -->\nmid\n"
                      "<!-- toysuper:claims intro -->\nold\n<!-- /toysuper:claims intro -->\n"
                      "after\n")
    assert main(["readme", "--results", str(tmp_path), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "old" not in text and text.startswith("before\n") and text.endswith("after\n")
    assert "| `intro` | TMS 1 | quick | 1 of 2 | 1 reproduced, 1 not reached at this fidelity |" \
        in text
    assert "| `phase_2in1` | TMS 4 | not run | | |" in text
    assert "`{x: 1}` | **FAIL**: not reached at this fidelity |" in text


def test_measured_values_read_as_a_person_writes_them():
    from toysuper.experiments.report import readable

    assert readable({"n20": {"density": 0.0010000000474974513, "fraction": 1.0, "ok": True},
                     "mean_bias": -0.14612345, "none": None}) == \
        "{n20: {density: 0.001, fraction: 1, ok: true}, mean_bias: -0.1461, none: none}"
    assert readable(list(range(10))) == "[0, 1, 2, 3, ..., 8, 9] (10 values)"
    assert readable([0.30000001192092896, 2]) == "[0.3, 2]"


def test_readme_refuses_a_directory_without_results(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- toysuper:status -->\nkept\n<!-- /toysuper:status -->\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["readme", "--results", str(tmp_path / "none"), "--readme", str(readme)])
    assert exit_info.value.code == 2 and "kept" in readme.read_text()


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"toysuper {ts.__version__}"


def test_citation_and_license_files():
    """CITATION.cff has the fields the Citation File Format 1.2 requires, cites both papers and
    carries the package's version; LICENSE is the license pyproject.toml declares."""
    root = Path(__file__).resolve().parent.parent
    cff = yaml.safe_load((root / "CITATION.cff").read_text())
    assert {"cff-version", "message", "title", "authors"} <= cff.keys()
    assert cff["cff-version"] == "1.2.0" and str(cff["version"]) == ts.__version__
    titles = [r["title"] for r in cff["references"]]
    assert titles == ["Toy Models of Superposition",
                      "Superposition, Memorization, and Double Descent"]
    assert all(r["type"] == "article" and r["authors"] and r["year"] for r in cff["references"])
    assert (root / "LICENSE").read_text().startswith(f"{cff['license']} License")
    assert f'version = "{ts.__version__}"' in (root / "pyproject.toml").read_text()
    assert 'license = { text = "MIT" }' in (root / "pyproject.toml").read_text()
