"""What an experiment is: a sweep per fidelity, an analysis into claims, and figures."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from toysuper.results import Result
from toysuper.sweep import Sweep

FIDELITIES = ("quick", "paper")


@dataclasses.dataclass(frozen=True)
class Claim:
    """One finding of the paper checked against a measurement.

    Attributes:
      name: short identifier, e.g. "dense_top2_orthogonal".
      statement: what the paper reports, in words.
      paper: the paper's value or criterion.
      measured: what this run measured (JSON-able).
      passed: whether the measurement supports the claim.
    """

    name: str
    statement: str
    paper: str
    measured: Any
    passed: bool

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"passed": bool(self.passed)}


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A paper experiment, runnable as `toysuper run NAME`.

    Attributes:
      name: registry name.
      section: where the paper shows it, e.g. "TMS 1".
      description: one line for `toysuper list`.
      sweep: (fidelity, root_seed) -> the Sweep to train, or {part name: Sweep} for an
        experiment of several sweeps (e.g. different model kinds or shapes); parts are saved in
        DIR/PART and trained in order. A part may instead be a function of the results of the
        parts before it, {part name: Result} -> Sweep (e.g. sparse autoencoders on the toy
        models trained by an earlier part).
      analyse: Result (or {part name: Result}) -> (named scalar metrics, claims, data), where
        data holds whatever arrays the analysis computed that the figures need (not saved).
      figures: data -> {file stem: matplotlib Figure}; plots only, never trains or analyses.
      choices: values the paper leaves open and this experiment had to pick, in words.
      extension: beyond the two papers (run by `toysuper reproduce --extensions`).
    """

    name: str
    section: str
    description: str
    sweep: Callable[[str, int], Sweep | Mapping[str, Sweep]]
    analyse: Callable[[Result | Mapping[str, Result]], tuple[dict, list[Claim], Any]]
    figures: Callable[[Any], dict[str, Figure]]
    choices: str = ""
    extension: bool = False


def sweep_parts(sweeps: Sweep | Mapping[str, Sweep | Callable]) -> dict[str, Sweep | Callable]:
    """An experiment's sweeps by part name; a single sweep is the part "" (saved in DIR itself)."""
    return dict(sweeps) if isinstance(sweeps, Mapping) else {"": sweeps}


def rounded(x, digits: int = 3):
    """A JSON-friendly float or nested list of floats, rounded (float32 noise removed)."""
    return np.round(np.asarray(x, dtype=np.float64), digits).tolist()


def optional(x: float | None, digits: int = 3) -> float | None:
    """`rounded`, with None (JSON null, not NaN) for a value that could not be measured."""
    return None if x is None or not np.isfinite(x) else rounded(x, digits)
