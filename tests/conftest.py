"""Shared fixtures: small sweeps that train in seconds on CPU."""

import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pytest

import toysuper as ts


@pytest.fixture
def small_sweep():
    """2 densities x 3 seeds of the intro model, 200 steps."""
    return ts.Sweep(
        ts.ModelConfig(5, 2), ts.TrainConfig(steps=200, batch_size=256, log_every=50),
        axes={"feature_probability": np.array([1.0, 0.1]), "seed": range(3)},
        fixed={"importance": ts.decaying_importance(5, 0.9)},
    )


@pytest.fixture
def shared_results():
    """The session's results directory that the notebooks read (see the root conftest.py):
    a quick experiment a test runs there is not trained again by a notebook."""
    return Path(os.environ["TOYSUPER_RESULTS"])


@pytest.fixture
def interrupting():
    """Factory of stand-ins for a function: `interrupting(real, calls, after=n)` records each call
    in `calls` and raises KeyboardInterrupt on the call after the n-th (never if n is None)."""
    def make(real, calls: list, after: int | None = None):
        def wrapper(*args, **kwargs):
            if after is not None and len(calls) == after:
                raise KeyboardInterrupt
            calls.append(1)
            return real(*args, **kwargs)

        return wrapper

    return make


@pytest.fixture
def stand_in_slurm(tmp_path, monkeypatch):
    """Stand-ins for Slurm's srun and sbatch on PATH: sbatch copies the script it is given to
    the returned path and answers "Submitted batch job 4242", so submitit submits without a
    cluster and the test reads what Slurm would have received."""
    bin_dir, submitted = tmp_path / "slurm-bin", tmp_path / "submitted.sh"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "sbatch").write_text(
        f"#!/bin/sh\ncp \"$1\" {submitted}\necho Submitted batch job 4242\n")
    for tool in ("srun", "sbatch"):
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return submitted
