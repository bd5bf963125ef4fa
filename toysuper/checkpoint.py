"""Checkpoints of an unfinished sweep: atomic writes, a checksummed manifest, mid-chunk states.

Layout inside a result directory:
    chunks/manifest.json                 finished chunks and partial states, with sha256 and size
    chunks/START-STOP.npz                a finished chunk: W, b, history, diverged_step
    chunks/START-STOP.partial.npz        a chunk's TrainState and history after some segments

Every file is written to a temporary name in the same directory, fsynced and renamed, and the
manifest is rewritten the same way after each file, so a kill at any point leaves either the old
or the new version of each file. A file whose checksum does not match the manifest (or that the
manifest does not list) is ignored, reported, and recomputed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

CHUNK_DIR, MANIFEST = "chunks", "manifest.json"
OWN_FILE = re.compile(r"(\d{9}-\d{9}(\.partial)?\.npz|manifest\.json)"
                      r"|\.(\d{9}-\d{9}(\.partial)?\.npz|manifest\.json)\..+\.tmp")


def _temporary_copy(path: Path, data: bytes) -> str:
    """`data` in a new fsynced temporary file beside `path` (.NAME.XXXX.tmp) with the mode the
    umask gives an ordinary file (mkstemp makes 0600); its name."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over `path`.

    Raises:
      OSError: with the path named, if the directory is not writable or the disk is full; no
        temporary file is left behind and `path` keeps its previous content.
    """
    path = Path(path)
    try:
        tmp = _temporary_copy(path, data)
        try:
            os.replace(tmp, path)
        except OSError:
            os.unlink(tmp)
            raise
    except OSError as err:
        raise OSError(err.errno, f"cannot write {path}: {err.strerror or err}") from err


class BrokenFileError(OSError):
    """A result, config or checkpoint file that cannot be read (truncated, garbled, of the
    wrong shape); the message names the file and what to do."""


def atomic_create_bytes(path: Path, data: bytes) -> bool:
    """Like `atomic_write_bytes`, but only if `path` does not exist yet: False, writing nothing,
    when another process got there first. A hard link of the temporary file claims the name
    exclusively; where the filesystem has no hard links, an exclusive create does."""
    path = Path(path)
    tmp = _temporary_copy(path, data)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # no hard links here (exFAT, some network and FUSE mounts)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def current_umask() -> int:
    """The process umask: from /proc where it is there (reading it does not change it), else
    by setting it and putting it back."""
    with contextlib.suppress(OSError, StopIteration, ValueError):
        with open("/proc/self/status") as f:
            return int(next(line for line in f if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def log(message: str) -> None:
    """A one-line notice on stderr (resume, recompute), shown whether or not a bar is."""
    print(f"toysuper: {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass
class ChunkStore:
    """Finished chunks and mid-chunk states of one sweep, under `directory/chunks/`."""

    directory: Path
    config_hash: str | None = None  # when set, every file written is stamped with it, and a
    # file stamped with another (or none) is ignored and recomputed

    @property
    def root(self) -> Path:
        return self.directory / CHUNK_DIR

    def _manifest(self) -> dict:
        try:
            manifest = json.loads((self.root / MANIFEST).read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(manifest, dict):  # valid JSON of the wrong shape: start afresh
            return {}
        return {k: v for k, v in manifest.items() if isinstance(v, dict)}

    def _write(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        data = npz_bytes(arrays)
        atomic_write_bytes(self.root / name, data)
        manifest = self._manifest()
        manifest[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                          "config_hash": self.config_hash}
        atomic_write_bytes(self.root / MANIFEST, json.dumps(manifest, indent=1).encode())

    def _read(self, name: str) -> dict[str, np.ndarray] | None:
        path = self.root / name
        if not path.exists():
            return None
        entry = self._manifest().get(name)
        data = path.read_bytes()
        if entry is None or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            log(f"{path} does not match its checksum in the manifest: recomputing it")
            return None
        if self.config_hash is not None and entry.get("config_hash") != self.config_hash:
            log(f"{path} was written for config {entry.get('config_hash')}, not "
                f"{self.config_hash}: recomputing it")
            return None
        with np.load(io.BytesIO(data)) as f:
            return {k: f[k] for k in f.files}

    def _drop(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)
        manifest = self._manifest()
        if manifest.pop(name, None) is not None:
            atomic_write_bytes(self.root / MANIFEST, json.dumps(manifest, indent=1).encode())

    @staticmethod
    def _name(start: int, stop: int, partial: bool = False) -> str:
        return f"{start:09d}-{stop:09d}{'.partial' if partial else ''}.npz"

    def summary(self) -> str:
        """What is saved, in words (empty if nothing is)."""
        names = list(self._manifest())
        partial = sum(name.endswith(".partial.npz") for name in names)
        parts = [f"{len(names) - partial} finished chunk(s)"] if len(names) > partial else []
        parts += [f"{partial} chunk(s) part-trained"] if partial else []
        return " and ".join(parts)

    def load_chunk(self, start: int, stop: int) -> dict[str, np.ndarray] | None:
        """The finished chunk of points [start, stop), or None if absent or corrupt."""
        return self._read(self._name(start, stop))

    def save_chunk(self, start: int, stop: int, arrays: dict[str, np.ndarray]) -> None:
        self._write(self._name(start, stop), arrays)
        self._drop(self._name(start, stop, partial=True))

    def load_partial(self, start: int, stop: int) -> dict[str, np.ndarray] | None:
        """A mid-chunk checkpoint (flattened TrainState leaves and history), if any."""
        return self._read(self._name(start, stop, partial=True))

    def save_partial(self, start: int, stop: int, arrays: dict[str, np.ndarray]) -> None:
        self._write(self._name(start, stop, partial=True), arrays)

    def foreign(self) -> list[str]:
        """Entries of chunks/ that toysuper did not write (neither its chunk and manifest names
        nor its temporary files), sorted; hidden ones (.DS_Store, .ipynb_checkpoints) do not
        count."""
        if not self.root.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in self.root.iterdir()
                      if not (OWN_FILE.fullmatch(p.name) or p.name.startswith(".")))

    def clear(self) -> None:
        """Remove what toysuper wrote under chunks/, and the folder once it is empty; anything
        else there is left alone (and named)."""
        if not self.root.is_dir():
            return
        for path in self.root.iterdir():
            if OWN_FILE.fullmatch(path.name):
                path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.root.rmdir()
        if self.root.exists():
            log(f"kept {self.root}: it holds files toysuper did not write "
                f"({', '.join(self.foreign()[:5])})")
