"""The documentation site builds without a warning (mkdocs --strict): every page, link, image
and docstring of the API reference; the experiment pages come from the registry."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_docs_build_strict(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          env=os.environ | {"NO_MKDOCS_2_WARNING": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    from toysuper.experiments import REGISTRY

    for name in REGISTRY:
        page = (tmp_path / "experiments" / name / "index.html").read_text()
        assert f"toysuper run {name}" in page and "<table>" in page
    api = (tmp_path / "api" / "toysuper.sweep" / "index.html").read_text()
    assert "Sweep" in api and "grid_hyper" in api
    assert "power_space" in (tmp_path / "index.html").read_text()  # the README's quick start
