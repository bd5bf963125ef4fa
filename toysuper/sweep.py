"""Sweep grids: named axes over `Hyper` fields, their points in C order, and the config hash.

    sweep = Sweep(ModelConfig(20, 5), TrainConfig(steps=5000),
                  axes={"feature_probability": np.geomspace(1, 0.01, 100), "seed": range(100)},
                  fixed={"importance": decaying_importance(20, 0.9)})

A `Sweep` is a description (the Cartesian product of its axes, with the other fields fixed); the
engine (`toysuper.engine`) trains it and the runner (`toysuper.run.run_sweep`) stores it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping

import numpy as np

from toysuper.config import TrainConfig
from toysuper.hyper import (
    FIELD_SYNONYMS,
    HYPER_FIELDS,
    INT_FIELDS,
    PER_FEATURE_FIELDS,
    Hyper,
    as_array,
    per_feature,
)
from toysuper.models import MODEL_KINDS, ModelConfig, supports_init
from toysuper.objectives import field_owners
from toysuper.validate import one_of, require

RESULT_NAMES = frozenset({"step", "feature", "hidden", "snapshot", "loss", "loss_history",
                          "diverged", "diverged_step", "eval_loss"})  # dims and variables


@dataclasses.dataclass(frozen=True)
class Axis:
    """One named sweep axis.

    Args:
      name: the dimension name in results (e.g. "feature_probability", "relative_importance").
      values: (k,) scalars or, for per-feature fields, (k, n_features) vectors (each point's
        vector) or a (k, 1) column of scalars (each the same for every feature; the explicit
        form for importance where k equals n_features, which a (k,) axis refuses as ambiguous).
      field: the `Hyper` field it sets; defaults to `name`.
      coords: (k,) coordinate labels; default the values themselves (1-D) or 0..k-1 (vectors).
    """

    name: str
    values: np.ndarray
    field: str | None = None
    coords: np.ndarray | None = None

    def __post_init__(self):
        field = self.field or self.name
        require(field in HYPER_FIELDS, f"axis {self.name!r} field", field,
                one_of(field, HYPER_FIELDS, FIELD_SYNONYMS))
        dtype = np.int32 if field in INT_FIELDS else np.float32
        values = as_array(list(self.values) if isinstance(self.values, range) else self.values,
                          f"axis {self.name!r} values", dtype)
        require(values.ndim >= 1 and len(values) >= 1, f"axis {self.name!r}", values.tolist(),
                "a non-empty sequence of values")
        require(values.ndim == 1 or (values.ndim == 2 and field in PER_FEATURE_FIELDS),
                f"axis {self.name!r} values shape", values.shape,
                "(k,) or, for feature_probability/importance, (k, n_features) vectors or a "
                "(k, 1) column of scalars")
        scalars = values.ndim == 1 or values.shape[1] == 1
        require(scalars or self.name != field, "axis name", self.name,
                f"a name other than {field!r} for per-feature vectors "
                f"(e.g. Axis('relative_importance', values, field={field!r}, coords=...))")
        coords = values.reshape(-1) if (self.coords is None and scalars) else self.coords
        coords = np.arange(len(values)) if coords is None else np.asarray(coords)
        require(coords.shape == (len(values),), f"axis {self.name!r} coords shape",
                coords.shape, f"({len(values)},), one label per value")
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "coords", coords)

    def __len__(self) -> int:
        return len(self.values)


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A grid of models: static configs, fixed hyperparameters and named axes.

    Args:
      model: static model config.
      train: static training config.
      axes: name -> values (or `Axis` objects); the grid is their Cartesian product, in order.
      fixed: values of `Hyper` fields that no axis sets (paper defaults otherwise).
      root_seed: the root of every point's key, fold_in(key(root_seed), seed).
    """

    model: ModelConfig
    train: TrainConfig
    axes: tuple[Axis, ...] | Mapping = ()
    fixed: Mapping = dataclasses.field(default_factory=dict)
    root_seed: int = 0

    def __post_init__(self):
        if isinstance(self.axes, Mapping):
            axes = tuple(v if isinstance(v, Axis) else Axis(k, v) for k, v in self.axes.items())
        else:
            axes = tuple(self.axes)
        for a in axes:
            require(isinstance(a, Axis), "axes", a, "a mapping name -> values, or Axis objects")
        names = [a.name for a in axes]
        require(len(set(names)) == len(names), "axes", names, "distinct axis names")
        params = {p for kind in MODEL_KINDS.values() for p in kind.param_dims}
        taken = RESULT_NAMES | params | {f"{p}_snapshots" for p in params}
        for a in axes:
            require(a.name not in taken and (a.name == a.field or a.name not in HYPER_FIELDS),
                    "axis name", a.name, "a name that results do not already use for a "
                    f"dimension or variable ({', '.join(sorted(RESULT_NAMES))}, the parameters"
                    ", or another Hyper field)")
        fields = [a.field for a in axes]
        require(len(set(fields)) == len(fields), "axes", fields,
                "at most one axis per Hyper field")
        for field in self.fixed:
            require(field in HYPER_FIELDS, "fixed", field, one_of(field, HYPER_FIELDS,
                                                                 FIELD_SYNONYMS))
            require(field not in fields, "fixed", field, "fields that no axis sweeps")
        n = self.model.n_features
        for a in axes:
            require(a.values.ndim == 1 or a.values.shape[1] in (1, n),
                    f"axis {a.name!r} values shape", a.values.shape,
                    f"(k, n_features={n}), or (k, 1) for scalars")
            # a vector of importances given as an axis (e.g. decaying_importance) would train k
            # uniform importances; densities, swept as scalars everywhere, are not refused
            require(not (a.field == "importance" and a.values.ndim == 1 and len(a) == n
                         and n > 1), f"axis {a.name!r}", f"{n} values for n_features={n}",
                    "an unambiguous form: fixed={'importance': values} for one vector that every "
                    f"model gets (e.g. decaying_importance), or values[:, None] to sweep {n} "
                    "scalar values, each the same for every feature")
        require(isinstance(self.root_seed, int) and 0 <= self.root_seed < 2**32, "root_seed",
                self.root_seed, f"an integer from 0 to {2**32 - 1}")
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "fixed", dict(self.fixed))
        self.base.validated()
        for a in axes:
            self.base.replace(**{a.field: a.values}).validated()
        self._check_objective()

    def _fields_set(self, fields) -> list[str]:
        """Those of `fields` that this sweep fixes or sweeps."""
        return [f for f in fields if f in self.fixed or any(a.field == f for a in self.axes)]

    def values(self, field: str) -> list[np.ndarray]:
        """The values `field` takes, each array with a leading points axis (per-feature
        fields as (points, n_features)): the axis that sweeps it, else its base value."""
        swept = [a.values for a in self.axes if a.field == field]
        values = swept or [np.asarray(getattr(self.base, field))[None]]
        if field in PER_FEATURE_FIELDS:
            n = self.model.n_features
            values = [np.broadcast_to(v.reshape(len(v), -1), (len(v), n)) for v in values]
        return values

    def _check_objective(self) -> None:
        """The objective-specific Hyper fields only with the objective that reads them, and
        the objective's own checks of the model and values (`Objective.check`)."""
        objective = self.train.objective
        owners = field_owners()
        for field in self._fields_set(tuple(owners)):
            require(field in objective.fields, "Hyper fields", [field],
                    f"{field} only with the objective {' or '.join(owners[field])} "
                    f"(this sweep's is {type(objective).__name__})")
        objective.check(self.model, self.values)
        require(supports_init(self.model.kind, self.train.init),
                "init", self.train.init, f"'kind' for model kind {self.model.kind!r} "
                "('unit_rows' initialises the tied kinds: linear, relu_output, relu_hidden)")

    @property
    def base(self) -> Hyper:
        """Hyperparameters of a point before its axes are applied."""
        return Hyper.create(self.model.n_features, **self.fixed)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.axes)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def grid_hyper(self) -> Hyper:
        """The hyperparameters of every point, each leaf with a leading (size,) axis, in C order."""
        index = np.unravel_index(np.arange(self.size), self.shape) if self.axes else ()
        leaves = {f: np.broadcast_to(getattr(self.base, f), (self.size, *np.shape(
            getattr(self.base, f)))).copy() for f in HYPER_FIELDS}
        for a, idx in zip(self.axes, index, strict=True):
            values = a.values[idx]
            if a.field in PER_FEATURE_FIELDS and values.ndim == 1:
                values = values[:, None]
            leaves[a.field] = np.broadcast_to(values, leaves[a.field].shape).astype(
                leaves[a.field].dtype)
        return Hyper(**leaves)

    def smaller(self, steps: int | None = None, **keep: int) -> Sweep:
        """The same sweep at a smaller size, for tutorials and smoke runs: each named axis keeps
        `keep[name]` of its values (evenly spread; first and last included when two or more are
        kept), and training runs
        `steps` steps (default: unchanged; the log interval shrinks to divide it if needed, the
        warm-up scales with it, and snapshots past the end are dropped).

        Example:
          >>> sweep.smaller(steps=2000, seed=4, feature_probability=5)
        """
        require(steps is None or (isinstance(steps, int) and steps >= 1), "steps", steps,
                "a number of steps >= 1, or None")
        for name, k in keep.items():
            require(name in [a.name for a in self.axes], name, k,
                    f"the name of an axis of this sweep: {[a.name for a in self.axes]}")
            require(isinstance(k, int) and k >= 1, name, k, "a number of values >= 1")
        axes = []
        for a in self.axes:
            k = min(keep.get(a.name, len(a)), len(a))
            idx = np.unique(np.round(np.linspace(0, len(a) - 1, k)).astype(int))
            axes.append(Axis(a.name, a.values[idx], a.field, a.coords[idx]))
        train = self.train
        if steps is not None:
            log_every = math.gcd(steps, train.log_every)
            warmup = round(train.warmup_steps * steps / train.steps)
            train = dataclasses.replace(train, steps=steps, log_every=log_every,
                                        warmup_steps=warmup,
                                        snapshot_steps=tuple(t for t in train.snapshot_steps
                                                             if t <= steps))
        return dataclasses.replace(self, train=train, axes=tuple(axes))

    def to_dict(self) -> dict:
        """A JSON-able description of the whole sweep (what the config hash covers)."""
        def plain(x):
            return np.asarray(x).tolist()

        return {
            "model": dataclasses.asdict(self.model),
            "train": self.train.to_dict(),
            "axes": [{"name": a.name, "field": a.field, "values": plain(a.values),
                      "coords": plain(a.coords)} for a in self.axes],
            "fixed": {f: plain(per_feature(v, self.model.n_features, f)
                               if f in PER_FEATURE_FIELDS else v) for f, v in self.fixed.items()},
            "root_seed": self.root_seed,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Sweep:
        return cls(model=ModelConfig(**d["model"]), train=TrainConfig.from_dict(d["train"]),
                   axes=tuple(Axis(a["name"], np.asarray(a["values"]), a["field"],
                                   np.asarray(a["coords"])) for a in d["axes"]),
                   fixed=d["fixed"], root_seed=d["root_seed"])

    def config_hash(self) -> str:
        """16 hex digits of sha256 over the canonical JSON of `to_dict()`."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]
