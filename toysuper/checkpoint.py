"""Checkpoints of an unfinished sweep: atomic writes, checksummed entries, mid-chunk states.

Layout inside a result directory:
    chunks/START-STOP.npz                a finished chunk: W, b, history, diverged_step
    chunks/START-STOP.partial.npz        a chunk's TrainState and history after some segments
    chunks/FILE.json                     FILE's manifest entry: sha256, size, config hash, writer
    chunks/plan.json                     the chunk size every task of a job array uses
    chunks/task-NNNN.json                what task NNNN of a job array is doing (`toysuper status`)

Every file is written to a temporary name in the same directory, fsynced and renamed, and so is
its entry: first one accepting both the old and the new checksum, then (after the file) one for
the new only. A kill at any point leaves the old or the new version of each file, readable, and
a reader never sees a half-written one. Each file has its own entry
(no shared manifest is rewritten), so several processes may finish chunks into one directory at
the same moment without losing one. A file whose checksum does not match its entry (or that has
none) is ignored, reported, and recomputed. A manifest.json written by toysuper 0.3 and earlier
(one file for all entries) is still read, never rewritten.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHUNK_DIR, MANIFEST, PLAN = "chunks", "manifest.json", "plan.json"
_OWN = r"\d{9}-\d{9}(\.partial)?\.npz(\.json)?|manifest\.json|plan\.json|task-\d{4,}\.json"
OWN_FILE = re.compile(rf"({_OWN})|\.({_OWN})\..+\.tmp")
CHUNK_FILE = re.compile(r"(\d{9})-(\d{9})(\.partial)?\.npz")


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


def writer() -> dict:
    """Who writes a file: host, process id, and the JAX process index in a multi-process run."""
    entry = {"host": socket.gethostname(), "pid": os.getpid()}
    jax = sys.modules.get("jax")  # only where JAX is already loaded: never import it here
    if jax is not None:
        with contextlib.suppress(Exception):
            entry["jax_process"] = jax.process_index()
    return entry


def read_json(path: Path) -> dict | None:
    """A JSON object from `path`; None if it is absent, unreadable or not an object."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


@dataclasses.dataclass
class ChunkStore:
    """Finished chunks and mid-chunk states of one sweep, under `directory/chunks/`."""

    directory: Path
    config_hash: str | None = None  # when set, every file written is stamped with it, and a
    # file stamped with another (or none) is ignored and recomputed

    @property
    def root(self) -> Path:
        return self.directory / CHUNK_DIR

    def entries(self) -> dict[str, dict]:
        """The manifest entry of every saved file (that exists), by file name (sorted)."""
        if not self.root.is_dir():
            return {}
        legacy = read_json(self.root / MANIFEST) or {}
        found = {k: v for k, v in legacy.items() if isinstance(v, dict)}
        for path in self.root.glob("*.npz.json"):
            entry = read_json(path)
            if entry is not None and CHUNK_FILE.fullmatch(path.name[:-5]):
                found[path.name[:-5]] = entry
        return {name: found[name] for name in sorted(found) if (self.root / name).exists()}

    def _entry(self, name: str) -> dict | None:
        entry = read_json(self.root / f"{name}.json")
        if entry is None:
            entry = (read_json(self.root / MANIFEST) or {}).get(name)
        return entry if isinstance(entry, dict) else None

    def _write(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Write `name` and its entry so that a kill at any instant leaves a readable version:
        while a valid file is replaced, its entry accepts both its checksum and the new one."""
        self.root.mkdir(parents=True, exist_ok=True)
        data = npz_bytes(arrays)
        entry = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                 "config_hash": self.config_hash, "writer": writer(), "time": time.time()}
        old = self._valid_checksum(name)
        self._write_entry(name, entry | ({"previous_sha256": old} if old else {}))
        atomic_write_bytes(self.root / name, data)
        if old:
            self._write_entry(name, entry)

    def _valid_checksum(self, name: str) -> str | None:
        """The checksum of the file `name` now on disk if its entry accepts it for this config
        (the version a replacement must keep readable until it is done), else None."""
        entry = self._entry(name)
        if entry is None or entry.get("config_hash") != self.config_hash:
            return None
        try:
            checksum = hashlib.sha256((self.root / name).read_bytes()).hexdigest()
        except FileNotFoundError:
            return None
        return checksum if checksum in (entry.get("sha256"), entry.get("previous_sha256")) \
            else None

    def _write_entry(self, name: str, entry: dict) -> None:
        atomic_write_bytes(self.root / f"{name}.json", json.dumps(entry, indent=1).encode())

    def _read(self, name: str) -> dict[str, np.ndarray] | None:
        path = self.root / name
        for attempt in range(2):  # a second look, in case a writer replaced it in between
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                return None
            entry = self._entry(name)
            accepted = (entry.get("sha256"), entry.get("previous_sha256")) if entry else ()
            if hashlib.sha256(data).hexdigest() in accepted:
                break
            if attempt:
                log(f"{path} does not match its checksum in the manifest: recomputing it")
                return None
        if self.config_hash is not None and entry.get("config_hash") != self.config_hash:
            log(f"{path} was written for config {entry.get('config_hash')}, not "
                f"{self.config_hash}: recomputing it")
            return None
        with np.load(io.BytesIO(data)) as f:
            return {k: f[k] for k in f.files}

    def _drop(self, name: str) -> None:
        """Remove `name`, then its entry (an entry without its file names nothing)."""
        (self.root / name).unlink(missing_ok=True)
        (self.root / f"{name}.json").unlink(missing_ok=True)

    @staticmethod
    def _name(start: int, stop: int, partial: bool = False) -> str:
        return f"{start:09d}-{stop:09d}{'.partial' if partial else ''}.npz"

    def chunks(self, partial: bool = False) -> list[tuple[int, int]]:
        """(start, stop) of every chunk saved finished (or, with `partial`, part-trained) and
        stamped with this store's config (any config when it has none); not checksummed."""
        found = []
        for name, entry in self.entries().items():
            match = CHUNK_FILE.fullmatch(name)
            if (match and bool(match[3]) == partial
                    and self.config_hash in (None, entry.get("config_hash"))):
                found.append((int(match[1]), int(match[2])))
        return found

    def summary(self) -> str:
        """What is saved, of any config, in words (empty if nothing is)."""
        every = dataclasses.replace(self, config_hash=None)
        done, partial = len(every.chunks()), len(every.chunks(partial=True))
        parts = [f"{done} finished chunk(s)"] if done else []
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

    def chunk_size(self) -> int | None:
        """The chunk size recorded by `plan` (a job array's), if any."""
        size = (read_json(self.root / PLAN) or {}).get("chunk_size")
        return size if isinstance(size, int) and size >= 1 else None

    def plan(self, chunk_size: int) -> int:
        """Record `chunk_size` for every task of a job array, unless one is recorded already;
        the recorded one (the first writer wins)."""
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_create_bytes(self.root / PLAN, json.dumps({"chunk_size": chunk_size}).encode())
        return self.chunk_size() or chunk_size

    def save_task(self, task: int, status: dict) -> None:
        """What task `task` of a job array is doing (only that task writes its file)."""
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.root / f"task-{task:04d}.json", json.dumps(
            {"task": task, **status, "writer": writer(), "time": time.time()}).encode())

    def tasks(self) -> dict[int, dict]:
        """Every task's last status (`save_task`), by task number."""
        if not self.root.is_dir():
            return {}
        found = (read_json(p) for p in sorted(self.root.glob("task-*.json")))
        return {s["task"]: s for s in found if s is not None and isinstance(s.get("task"), int)}

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
