"""What an experiment is: a sweep per fidelity, an analysis into claims, and figures."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from toysuper.models import MODEL_KINDS
from toysuper.results import Result
from toysuper.sweep import Sweep

FIDELITIES = ("quick", "paper")
VERDICTS = ("reproduced", "not reproduced", "not reached at this fidelity")


@dataclasses.dataclass(frozen=True)
class Claim:
    """One finding of the paper checked against a measurement.

    Attributes:
      name: short identifier, e.g. "dense_top2_orthogonal".
      statement: what the paper reports, in words.
      paper: the paper's value or criterion.
      measured: what this run measured (JSON-able).
      passed: whether the measurement supports the claim.
      evidence: for a claim that fails, the evidence that the setup is faithful (e.g. training
        and exact-loss theory agree); empty when there is none.
      trained: whether the claim reads what training found; False for a claim about the theory
        alone (an analytic critical point), which the noise null model cannot test.
    """

    name: str
    statement: str
    paper: str
    measured: Any
    passed: bool
    evidence: str = ""
    trained: bool = True

    @property
    def verdict(self) -> str:
        """"reproduced"; "not reproduced" (fails on a setup shown to be faithful); or "not
        reached at this fidelity" (fails without such evidence)."""
        if self.passed:
            return VERDICTS[0]
        return VERDICTS[1] if self.evidence else VERDICTS[2]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"passed": bool(self.passed), "verdict": self.verdict}


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
      fidelity: what changes between fidelities: fidelity name -> a frozen dataclass of the
        sizes it sets (each experiment's `FIDELITY` table); recorded in the report.
    """

    name: str
    section: str
    description: str
    sweep: Callable[[str, int], Sweep | Mapping[str, Sweep]]
    analyse: Callable[[Result | Mapping[str, Result]], tuple[dict, list[Claim], Any]]
    figures: Callable[[Any], dict[str, Figure]]
    choices: str = ""
    extension: bool = False
    fidelity: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.fidelity and set(self.fidelity) != set(FIDELITIES):
            raise ValueError(f"fidelity={sorted(self.fidelity)!r} is invalid: settings for "
                             f"each of {', '.join(FIDELITIES)}")


def sweep_parts(sweeps: Sweep | Mapping[str, Sweep | Callable]) -> dict[str, Sweep | Callable]:
    """An experiment's sweeps by part name; a single sweep is the part "" (saved in DIR itself)."""
    return dict(sweeps) if isinstance(sweeps, Mapping) else {"": sweeps}


def rounded(x, digits: int = 3):
    """A JSON-friendly float or nested list of floats, rounded (float32 noise removed)."""
    return np.round(np.asarray(x, dtype=np.float64), digits).tolist()


def optional(x: float | None, digits: int = 3) -> float | None:
    """`rounded`, with None (JSON null, not NaN) for a value that could not be measured."""
    return None if x is None or not np.isfinite(x) else rounded(x, digits)


def noise_like(results: Result | Mapping[str, Result], seed: int = 0
               ) -> Result | dict[str, Result]:
    """The same results with every trained parameter (and its snapshots) replaced by Gaussian
    noise of that parameter's mean and std over the whole sweep, and the recorded losses by the
    noise models' own (`Result.evaluation_loss`): the null model every claim about training
    must fail on (a claim that passes on it does not test what training found)."""
    if isinstance(results, Mapping):
        return {part: noise_like(r, seed + i) for i, (part, r) in enumerate(results.items())}
    rng = np.random.default_rng(seed)
    names = MODEL_KINDS[results.sweep.model.kind].param_dims
    ds = results.dataset
    noise = {}
    for name in [*names, *(f"{n}_snapshots" for n in names)]:
        if name in ds:
            value = ds[name].values
            finite = value[np.isfinite(value)]
            noise[name] = rng.normal(finite.mean(), finite.std(), value.shape).astype(value.dtype)
    return with_params(results, noise)


def with_params(result: Result, params: Mapping[str, np.ndarray]) -> Result:
    """The same result with the given parameters (and snapshots) in place of the trained ones,
    each shaped like the dataset's variable, and the recorded losses replaced by the new models'
    own evaluation loss (a reduced result keeps its recorded losses)."""
    ds = result.dataset.copy()
    for name, value in params.items():
        ds[name] = ds[name].copy(data=np.asarray(value, ds[name].dtype).reshape(ds[name].shape))
    ds = ds.drop_vars("eval_loss", errors="ignore")
    new = Result(result.sweep, ds, result.reduced_over)
    if result.reduced_over:
        return new
    loss = new.evaluation_loss()
    ds["loss"] = ds["loss"].copy(data=loss.values.astype(ds["loss"].dtype))
    ds["loss_history"] = ds["loss_history"].copy(data=np.broadcast_to(
        loss.values[..., None], ds["loss_history"].shape).astype(ds["loss_history"].dtype))
    return Result(result.sweep, ds, result.reduced_over, loss)  # evaluation kept


def constructed(sweep: Sweep, params: Mapping[str, np.ndarray]) -> Result:
    """A Result of `sweep` that was never trained: the parameters given, each with the sweep's
    shape in front (W (*sweep.shape, n, m), b (*sweep.shape, n), ...), the final ones repeated
    as snapshots when the sweep keeps snapshots and `params` gives none, and losses from the
    evaluation. For tests of claims on weights whose answer is known."""
    size, windows = sweep.size, sweep.train.steps // sweep.train.log_every
    flat = {name: np.asarray(v, np.float32).reshape(size, *np.shape(v)[len(sweep.shape):])
            for name, v in params.items()}
    for name in MODEL_KINDS[sweep.model.kind].param_dims:
        if sweep.train.snapshot_steps and f"{name}_snapshots" not in flat:
            flat[f"{name}_snapshots"] = np.repeat(
                flat[name][:, None], len(sweep.train.snapshot_steps), axis=1)
    arrays = flat | {"history": np.zeros((size, windows), np.float32),
                     "diverged_step": np.full(size, -1)}
    result = Result.from_arrays(sweep, arrays)
    return with_params(result, {name: result.dataset[name].values for name in flat})
