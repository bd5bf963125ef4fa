"""The README's Python quick start runs as printed and draws the figure."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_python_quick_start_runs_verbatim(tmp_path):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=600,
                   env=os.environ | {"MPLBACKEND": "Agg"}, capture_output=True)
    assert (tmp_path / "intro.png").stat().st_size > 10_000


def test_every_other_python_example_runs(tmp_path, monkeypatch, stand_in_slurm):
    """The README's other Python blocks (configs of each objective, a Slurm submission) are
    complete and valid. The Slurm one runs against stand-in srun and sbatch programs, which
    record the array script instead of queueing it."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[1:]
    assert blocks
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    script = stand_in_slurm.read_text()
    assert "#SBATCH --array=0-15%16" in script and "#SBATCH --partition=gpu" in script
