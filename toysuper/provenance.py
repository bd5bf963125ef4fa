"""Where a result or figure came from: toysuper's version, the git commit when run from a
checkout, the date, and the JAX backend and device (stored in config.json, figure sidecars and
PNG metadata)."""

from __future__ import annotations

import datetime
import functools
import subprocess
from pathlib import Path

__version__ = "0.6.0"


@functools.cache
def git_commit() -> str | None:
    """The checkout's commit ("+dirty" when files differ from it), or None outside a checkout
    (an installed wheel) or without git."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        def git(*args):
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()

        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def provenance() -> dict[str, str | None]:
    """{"toysuper", "git_commit", "date" (UTC, ISO 8601), "backend", "device"} for this run."""
    import jax  # here, so that `toysuper --version` and `--help` do not load it

    device = jax.devices()[0]
    return {"toysuper": __version__, "git_commit": git_commit(),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "backend": jax.default_backend(), "device": f"{device.device_kind} x "
                                                        f"{jax.device_count()}"}
