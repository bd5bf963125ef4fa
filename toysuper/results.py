"""Results of a sweep: an xarray Dataset plus the sweep that made it; save, load, resume.

A result directory holds
    config.json   the sweep (full config), its config hash, the training-code fingerprint,
                  package versions, caller metadata
    result.nc     the Dataset as netCDF, which `xarray.open_dataset` opens without toysuper
                  (config.json again in its `toysuper_config` attribute); toysuper 0.1 wrote
                  result.npz, which is still read
    chunks/       checkpoints of an unfinished sweep (see `toysuper.checkpoint`; removed once
                  result.nc is written)

`Result.to_xarray()` has, for a sweep with axes (a1, a2, ...):
    W        (a1, a2, ..., feature, hidden)   feature directions, W[..., i, :] = W_i
    b        (a1, a2, ..., feature)           output bias
    ...      any further parameter of the model kind, with the dims its `param_dims` gives
             (e.g. W_out (a1, ..., feature, hidden) for abs_mlp)
    loss     (a1, a2, ...)                    mean training loss over the last log window
    eval_loss (a1, a2, ...)                   after `best_over`: the common evaluation loss
                                              the restarts were ranked by
    loss_history (a1, a2, ..., step)          mean training loss per log window
    diverged (a1, a2, ...)                    True where the loss or a parameter is NaN/inf
    diverged_step (a1, a2, ...)               first step whose loss was NaN/inf, -1 if none
    W_snapshots (a1, ..., snapshot, feature, hidden), b_snapshots, ...: with
                                              `TrainConfig.snapshot_steps`, the parameters after
                                              each of those steps (coordinate `snapshot`)
plus the hyperparameters that are not axis coordinates (e.g. `importance` (feature)).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import platform
import struct
import time
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import xarray as xr

from toysuper.checkpoint import (
    CHUNK_DIR,
    BrokenFileError,
    ChunkStore,
    atomic_create_bytes,
    atomic_write_bytes,
    log,
)
from toysuper.evaluation import evaluation_loss, exact_available
from toysuper.hyper import COMMON_FIELDS, PER_FEATURE_FIELDS
from toysuper.models import MODEL_KINDS, kind_fingerprint
from toysuper.objectives import Objective, from_config, objective_fingerprint
from toysuper.provenance import __version__, provenance
from toysuper.sweep import Sweep

CONFIG_FILE, RESULT_FILE, LEGACY_RESULT_FILE = "config.json", "result.nc", "result.npz"
STALE_DIR = "stale-"  # + the old training-code fingerprint: where a stale result is set aside
LEFTOVER_SECONDS = 3600  # a temporary file this old belongs to no running write
OVERWRITE = "(overwrite=True; --overwrite at the command line)"


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages a result depends on."""
    out = {"python": platform.python_version(), "platform": platform.platform(),
           "toysuper": __version__}
    for name in ("jax", "jaxlib", "flax", "optax", "numpy", "xarray"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


TRAINING_MODULES = ("validate", "generators", "data", "sae", "models", "attacks", "hyper",
                    "objectives/*", "config", "training", "sweep",
                    "engine")  # what decides what training produces
# Fingerprints of earlier training code that trains every model to the same bits as this code
# (tests/test_objectives_equivalence.py compares one sweep per objective against arrays saved
# from it), so its results are reused, not trained again. Empty it when training changes: 0.6's
# counter-based data stream emptied it.
EQUIVALENT_TRAINING_CODE: frozenset[str] = frozenset()


@functools.cache
def _package_code() -> str:
    """sha256 of the training modules' syntax trees without docstrings (so that editing
    documentation or comments does not make results stale)."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    paths = [p for name in TRAINING_MODULES for p in sorted(package.glob(f"{name}.py"))]
    for path in paths:
        name = path.relative_to(package).with_suffix("").as_posix()
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
        digest.update(name.encode() + b"\0" + ast.dump(tree).encode())
    return digest.hexdigest()[:16]


def training_code(kind: str | None = None, objective: Objective | None = None) -> str:
    """A fingerprint (16 hex digits) of the toysuper source that decides what training produces
    for a config (`TRAINING_MODULES`), with a registered model kind's own (`kind_fingerprint`)
    and a registered objective's (`objective_fingerprint`): a result directory is reused only by
    the same code, since the config hash alone does not change when that code does."""
    custom = kind_fingerprint(kind) if kind in MODEL_KINDS else ""
    own = objective_fingerprint(objective) if objective is not None else ""
    return (_package_code() + (f"+{custom}" if custom else "")
            + (f"+objective-{own}" if own else ""))


def write_config(directory: Path, sweep: Sweep, meta: dict | None = None,
                 reduced_over: tuple[str, ...] = (), exclusive: bool = False) -> bool:
    """Write config.json; with `exclusive`, only if none exists yet (False if one does)."""
    config = {"config_hash": sweep.config_hash(),
              "training_code": training_code(sweep.model.kind, sweep.train.objective),
              "sweep": sweep.to_dict(), "reduced_over": list(reduced_over),
              "versions": versions(), "provenance": provenance(), **(meta or {})}
    data = json.dumps(config, indent=1).encode()
    if exclusive:
        return atomic_create_bytes(Path(directory) / CONFIG_FILE, data)
    atomic_write_bytes(Path(directory) / CONFIG_FILE, data)
    return True


def read_config(directory: Path) -> dict:
    """config.json of a result directory.

    Raises:
      BrokenFileError: it is not a JSON object with a config hash and a sweep.
    """
    path = Path(directory) / CONFIG_FILE
    try:
        config = json.loads(path.read_text())
    except ValueError as err:
        raise BrokenFileError(f"{path} is not valid JSON ({err}): restore it, or train again "
                              f"{OVERWRITE}") from None
    if not (isinstance(config, dict) and {"config_hash", "sweep"} <= config.keys()):
        raise BrokenFileError(f"{path} is not a toysuper config (a JSON object with "
                              f"config_hash and sweep): restore it, or train again {OVERWRITE}")
    return config


@dataclasses.dataclass
class Result:
    """A trained sweep: its `Sweep` and an `xarray.Dataset` of parameters and losses.

    Attributes:
      sweep: the sweep that produced it.
      dataset: the data (see the module docstring for variables and dims).
      reduced_over: axes removed by `best_over`, in order.
    """

    sweep: Sweep
    dataset: xr.Dataset
    reduced_over: tuple[str, ...] = ()
    _evaluation: xr.DataArray | None = dataclasses.field(default=None, repr=False,
                                                         compare=False)

    @classmethod
    def from_arrays(cls, sweep: Sweep, arrays: dict[str, np.ndarray]) -> Result:
        """Build from flat per-point arrays: each parameter of the model kind (W (size, n, m),
        b (size, n), ...), history (size, windows) and diverged_step (size,)."""
        dims = tuple(a.name for a in sweep.axes)
        shape = sweep.shape
        param_dims = MODEL_KINDS[sweep.model.kind].param_dims
        params = {name: arrays[name].reshape(*shape, *arrays[name].shape[1:])
                  for name in param_dims}
        history = arrays["history"].reshape(*shape, arrays["history"].shape[-1])
        diverged_step = arrays["diverged_step"].reshape(shape)
        finite = np.isfinite(history).all(-1) & (diverged_step < 0)
        for value in params.values():
            finite &= np.isfinite(value).reshape(*shape, -1).all(-1)
        coords = {a.name: a.coords for a in sweep.axes}
        coords |= {"feature": np.arange(sweep.model.n_features),
                   "hidden": np.arange(sweep.model.n_hidden),
                   "step": (np.arange(history.shape[-1]) + 1) * sweep.train.log_every}
        data = {name: ((*dims, *param_dims[name]), value) for name, value in params.items()}
        if sweep.train.snapshot_steps:
            coords["snapshot"] = np.asarray(sweep.train.snapshot_steps)
            data |= {f"{name}_snapshots": (
                (*dims, "snapshot", *param_dims[name]),
                arrays[f"{name}_snapshots"].reshape(*shape, *arrays[f"{name}_snapshots"].shape[1:]))
                for name in param_dims}
        data |= {
            "loss": (dims, history[..., -1]),
            "loss_history": ((*dims, "step"), history),
            "diverged": (dims, ~finite),
            "diverged_step": (dims, diverged_step),
        }
        swept = {a.field: a for a in sweep.axes}
        for field, value in dataclasses.asdict(sweep.base).items():
            if field not in COMMON_FIELDS and field not in sweep.train.objective.fields:
                continue
            feature_dim = ("feature",) if field in PER_FEATURE_FIELDS else ()
            axis = swept.get(field)
            if axis is None:
                data[field] = (feature_dim, np.asarray(value))
            elif axis.name != field:  # vector-valued axis or renamed scalar axis
                data[field] = ((axis.name, *feature_dim[: axis.values.ndim - 1]), axis.values)
        coords = {k: narrowed(np.asarray(v)) for k, v in coords.items()}
        ds = xr.Dataset(data, coords=coords,
                        attrs={"config_hash": sweep.config_hash(), "model_kind": sweep.model.kind})
        return cls(sweep, labelled(with_sparsity(ds)))

    @property
    def config_hash(self) -> str:
        return self.sweep.config_hash()

    def to_xarray(self) -> xr.Dataset:
        """The data as an `xarray.Dataset` (a copy)."""
        return self.dataset.copy()

    def evaluation_loss(self) -> xr.DataArray:
        """Every model's loss under one common evaluation (`toysuper.evaluation`): the exact
        expected loss where it is cheap, else the objective on one shared set of fresh samples
        (common random numbers for every model). Dims: the sweep axes. Computed once.
        """
        ds = self.dataset
        if "eval_loss" in ds:
            return ds["eval_loss"]
        if self._evaluation is None:
            if self.reduced_over:
                raise ValueError(
                    f"this Result was reduced over {list(self.reduced_over)} without an "
                    "evaluation loss: call evaluation_loss() on the full Result first")
            names = MODEL_KINDS[self.sweep.model.kind].param_dims
            size = self.sweep.size
            params = {k: ds[k].values.reshape(size, *ds[k].shape[len(self.sweep.shape):])
                      for k in names}
            losses = evaluation_loss(self.sweep, params).reshape(self.sweep.shape)
            dims = tuple(a.name for a in self.sweep.axes)
            self._evaluation = xr.DataArray(losses, dims=dims, coords={
                d: ds[d] for d in dims}, name="eval_loss", attrs={
                "long_name": "common evaluation loss",
                "method": "exact" if exact_available(self.sweep) else "common samples"})
        return self._evaluation

    def best_over(self, dim: str = "seed", by: str = "evaluation") -> Result:
        """Keep, at every other grid point, the model with the lowest loss along `dim`.

        The paper's best-of-k protocol. `by="evaluation"` (default) ranks the restarts of a
        point by `evaluation_loss` (one common evaluation, so the ranking carries no
        batch-to-batch noise); `by="training"` by the last window of their own training loss.
        Diverged models are never chosen unless all are; the chosen coordinate is kept as a
        variable named `dim` (e.g. which seed won), and, with `by="evaluation"`, the ranking
        loss as `eval_loss`.
        """
        ds = self.dataset
        if dim not in ds.dims or dim in ("feature", "hidden", "step", "snapshot"):
            sweep_dims = [a.name for a in self.sweep.axes if a.name in ds.dims]
            raise ValueError(f"dim={dim!r} is invalid: one of the sweep axes {sweep_dims}")
        if by not in ("evaluation", "training"):
            raise ValueError(f"by={by!r} is invalid: choose 'evaluation' or 'training'")
        if by == "evaluation":
            ds = ds.assign(eval_loss=self.evaluation_loss())
        ranking = ds["eval_loss"] if by == "evaluation" else ds["loss"]
        loss = ranking.where(~ds["diverged"], np.inf).fillna(np.inf)
        best = ds.isel({dim: loss.argmin(dim)})
        best = best.reset_coords(dim)
        best["diverged"] = ds["diverged"].all(dim)
        return Result(self.sweep, best, (*self.reduced_over, dim))

    def save(self, directory: str | Path, meta: dict | None = None) -> Path:
        """Write config.json and result.nc atomically into `directory`.

        result.nc is netCDF (the 64-bit-offset classic format, written with scipy, so no
        library beyond toysuper's own is needed): `xarray.open_dataset(DIR / "result.nc")` opens
        it without toysuper, with the full config.json in its `toysuper_config` attribute and a
        `long_name` on every variable.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = meta or _meta(directory)
        write_config(directory, self.sweep, meta, self.reduced_over)
        ds = self.dataset.copy()
        ds.attrs = {**ds.attrs, "toysuper_config": (directory / CONFIG_FILE).read_text(),
                    "title": f"toysuper result, config {self.config_hash}",
                    "source": f"toysuper {versions().get('toysuper', '')}".strip()}
        atomic_write_bytes(directory / RESULT_FILE, netcdf_bytes(ds))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Result:
        """Read a result directory written by `save` (or by `run_sweep(out=...)`); a result.npz
        of toysuper 0.1 is read too."""
        directory = Path(directory)
        path = result_path(directory)
        if path is None:
            parts = sorted({p.parent.name for name in (RESULT_FILE, LEGACY_RESULT_FILE)
                            for p in directory.glob(f"*/{name}")})
            if parts:
                raise FileNotFoundError(
                    f"{directory} holds an experiment of several sweeps: load one of its parts, "
                    + ", ".join(str(directory / part) for part in parts))
            raise FileNotFoundError(f"{directory} holds no finished result ({RESULT_FILE} missing)")
        config = read_config(directory)
        try:
            sweep = Sweep.from_dict(config["sweep"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(
                f"{directory / CONFIG_FILE} describes a sweep this toysuper cannot build "
                f"({' '.join(str(err).split())[:200]}): if it uses a model kind or an objective "
                "of your own, register it first (toysuper.register_kind, "
                "toysuper.objectives.register_objective)") from None
        try:
            ds = read_netcdf(path) if path.name == RESULT_FILE else read_legacy_npz(path)
        except (EOFError, KeyError, TypeError, ValueError, IndexError, OSError, struct.error,
                zipfile.BadZipFile) as err:
            raise BrokenFileError(
                f"{path} (or its {CONFIG_FILE}) cannot be read ({type(err).__name__}: "
                f"{' '.join(str(err).split())[:200]}): "
                f"it is truncated or damaged; train again {OVERWRITE}") from None
        if ds.attrs.get("config_hash") != sweep.config_hash():
            raise BrokenFileError(
                f"{path} was written for config {ds.attrs.get('config_hash')}, but "
                f"{directory / CONFIG_FILE} describes config {sweep.config_hash()}: the two files "
                f"belong to different runs; train again {OVERWRITE}")
        return cls(sweep, with_sparsity(ds), tuple(config.get("reduced_over", ())))


LONG_NAMES = {  # variable -> long_name, for xarray's own plots
    "W": "feature direction W_i (input weights)", "W_out": "output weights",
    "b": "output bias", "W_enc": "encoder weights", "b_dec": "decoder bias",
    "loss": "final training loss (last log window)", "loss_history": "training loss",
    "eval_loss": "common evaluation loss", "diverged": "diverged (NaN or inf)",
    "diverged_step": "step of divergence (-1: never)", "feature_probability":
    "feature probability p = 1 - S (density)", "importance": "feature importance I_i",
    "lr": "learning rate", "weight_decay": "weight decay", "seed": "seed",
    "sparsity": "sparsity S = 1 - p",
    "step": "training step", "snapshot": "training step of the snapshot",
}


def with_sparsity(ds: xr.Dataset) -> xr.Dataset:
    """`ds` with a `sparsity` coordinate S = 1 - p beside a `feature_probability` axis (the
    papers speak of S, the API of the density p)."""
    if "feature_probability" not in ds.dims or "sparsity" in ds.coords:
        return ds
    p = ds["feature_probability"].values
    return ds.assign_coords(sparsity=("feature_probability", (1 - p).astype(p.dtype), {
        "long_name": LONG_NAMES["sparsity"]}))


def labelled(ds: xr.Dataset) -> xr.Dataset:
    """`ds` with a `long_name` on every variable `LONG_NAMES` knows (xarray's plots use it)."""
    for name, var in ds.variables.items():
        label = LONG_NAMES.get(str(name).removesuffix("_snapshots"))
        if label and "long_name" not in var.attrs:
            var.attrs["long_name"] = label + (" (snapshots)" if str(name).endswith("_snapshots")
                                              else "")
    return ds


def narrowed(values: np.ndarray) -> np.ndarray:
    """64-bit integer coordinates as int32 where they fit (netCDF classic has no int64)."""
    if values.dtype == np.int64 and (values.size == 0 or np.abs(values).max() < 2**31):
        return values.astype(np.int32)
    return values


def netcdf_bytes(ds: xr.Dataset) -> bytes:
    """`ds` as netCDF (64-bit offset classic format), in memory."""
    return bytes(ds.to_netcdf(engine="scipy", format="NETCDF3_64BIT"))


def read_netcdf(path: Path) -> xr.Dataset:
    """A result.nc, fully read (the file is closed on return), without the attributes that
    `Result.save` adds for readers outside toysuper."""
    with xr.open_dataset(path, engine="scipy") as ds:
        ds = ds.load()
    ds.attrs = {k: v for k, v in ds.attrs.items()
                if k not in ("toysuper_config", "title", "source")}
    return ds


def read_legacy_npz(path: Path) -> xr.Dataset:
    """A result.npz of toysuper 0.1 (arrays with a JSON header)."""
    with np.load(path) as f:
        header = json.loads(f["__header__"].tobytes().decode())
        variables = {k: (tuple(d), f[k]) for k, d in header["dims"].items()}
    coords = {k: variables.pop(k) for k in header["coords"]}
    ds = xr.Dataset(variables, coords=coords, attrs=header["attrs"])
    for name, attrs in header.get("variable_attrs", {}).items():
        ds[name].attrs.update(attrs)
    return ds


def result_path(directory: str | Path) -> Path | None:
    """The finished result file in `directory` (result.nc, or a toysuper 0.1 result.npz), if
    any."""
    for name in (RESULT_FILE, LEGACY_RESULT_FILE):
        if (Path(directory) / name).exists():
            return Path(directory) / name
    return None


def load(directory: str | Path) -> Result:
    """`toysuper.load(DIR)`: the Result saved in a result directory."""
    return Result.load(directory)


def _meta(directory: Path) -> dict:
    """Caller metadata already recorded in `directory`'s config.json, kept on re-save."""
    path = directory / CONFIG_FILE
    if not path.exists():
        return {}
    keep = {"config_hash", "training_code", "sweep", "reduced_over", "versions", "provenance"}
    return {k: v for k, v in json.loads(path.read_text()).items() if k not in keep}


def _set_aside(directory: Path, name: str) -> None:
    """Move what toysuper wrote for a result (config, result file, checkpoints) into
    directory/name/, so that nothing is lost when it is trained again."""
    target = directory / name
    target.mkdir(exist_ok=True)
    for entry in (CONFIG_FILE, RESULT_FILE, LEGACY_RESULT_FILE, CHUNK_DIR):
        if (directory / entry).exists():
            os.replace(directory / entry, target / entry)


def _discard(directory: Path) -> None:
    """Remove what toysuper wrote for a result: its config, result file and checkpoints (never
    a file it did not write)."""
    for name in (CONFIG_FILE, RESULT_FILE, LEGACY_RESULT_FILE):
        (directory / name).unlink(missing_ok=True)
    ChunkStore(directory).clear()


def stale(directory: str | Path) -> bool:
    """Whether the result or checkpoints in `directory` were made by other training code than
    this (`training_code`; a directory written before the fingerprint existed counts as
    stale)."""
    path = Path(directory) / CONFIG_FILE
    if not path.exists():
        return False
    config = read_config(Path(directory))
    kind = config["sweep"].get("model", {}).get("kind")
    objective = None
    with contextlib.suppress(TypeError, ValueError, KeyError, AttributeError):
        objective = from_config(config["sweep"]["train"])
    return config.get("training_code") not in {training_code(kind, objective),
                                               *EQUIVALENT_TRAINING_CODE}


def open_result_dir(directory: str | Path, sweep: Sweep, meta: dict | None = None,
                    overwrite: bool = False, reuse_stale: bool = False) -> ChunkStore:
    """Prepare `directory` for `sweep`: create it, or check it holds the same config. What other
    training code made (`stale`) is trained again, with a notice, unless `reuse_stale`.

    Raises:
      ValueError: `directory` is a file, or holds a result of another config (naming both
        hashes) and `overwrite` is False.
      OSError: `directory` cannot be written (checked before any training).
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"out={str(directory)!r} is a file: give a directory (new or a result)")
    store = ChunkStore(directory, sweep.config_hash())
    if store.foreign():
        raise ValueError(
            f"out={str(directory)!r} has a {CHUNK_DIR}/ folder holding files toysuper did not "
            f"write ({', '.join(store.foreign()[:5])}): toysuper keeps its checkpoints there, so "
            "choose another directory or move them")
    unverifiable = (result_path(directory) is not None or store.summary()) and not (
        directory / CONFIG_FILE).exists()
    if directory.is_dir():  # temporary files of writes that a kill interrupted long ago
        for name in (CONFIG_FILE, RESULT_FILE, LEGACY_RESULT_FILE):
            for leftover in directory.glob(f".{name}.*.tmp"):
                with contextlib.suppress(OSError):
                    if time.time() - leftover.stat().st_mtime > LEFTOVER_SECONDS:
                        leftover.unlink()
    if overwrite and directory.exists():
        others = [p.name for p in directory.iterdir()
                  if p.name not in (CHUNK_DIR, RESULT_FILE, LEGACY_RESULT_FILE)]
        if not (directory / CONFIG_FILE).exists() and others:
            raise ValueError(
                f"out={str(directory)!r} is not a toysuper result (no {CONFIG_FILE}; it holds "
                f"{', '.join(sorted(others)[:5])}): overwrite replaces only a result; choose "
                "another directory")
        _discard(directory)
    elif unverifiable:
        raise ValueError(
            f"out={str(directory)!r} holds a result or checkpoints but no {CONFIG_FILE}, so "
            "which config made them cannot be checked: choose another directory, or replace "
            f"them {OVERWRITE}")
    if (directory / CONFIG_FILE).exists():
        config = read_config(directory)
        found = config.get("config_hash")
        if found != sweep.config_hash():
            raise ValueError(
                f"out={str(directory)!r} holds a result of config {found}, but this run is config "
                f"{sweep.config_hash()}: choose another directory or overwrite it {OVERWRITE}")
        if stale(directory) and not reuse_stale:
            old = config.get("training_code", "unrecorded")
            log(f"{directory} was trained by other training code (toysuper "
                f"{config.get('versions', {}).get('toysuper', '?')}, code {old}; this is "
                f"{training_code(sweep.model.kind, sweep.train.objective)}): training it again; "
                f"the old files are "
                f"kept in {STALE_DIR}{old}/ (reuse_stale=True, or --reuse-stale, reuses them "
                "instead)")
            meta = _meta(directory) | (meta or {})
            _set_aside(directory, f"{STALE_DIR}{old}")
            write_config(directory, sweep, meta)
        elif result_path(directory) is not None:
            log(f"{directory} holds the finished result of this config: loading it")
        elif store.summary():
            log(f"resuming in {directory} from {store.summary()}")
    else:
        directory.mkdir(parents=True, exist_ok=True)
        if not write_config(directory, sweep, meta, exclusive=True):  # claimed concurrently
            found = read_config(directory).get("config_hash")
            if found != sweep.config_hash():
                raise ValueError(
                    f"out={str(directory)!r} was just claimed by another run of config {found} "
                    f"(this run is config {sweep.config_hash()}): choose another directory")
    return store
