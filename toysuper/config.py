"""The static training setup of a run (`TrainConfig`), a compile key.

Everything that changes an array shape or the traced program (batch size, steps, schedule, the
objective and its static config) lives in the frozen, hashable `TrainConfig`; a change there
recompiles. The numbers a sweep varies are traced `toysuper.hyper.Hyper` leaves.

Paper defaults (TMS released notebook) are set explicitly here, never inherited from a library:
AdamW, betas (0.9, 0.999), eps 1e-8, constant schedule, batch 1024, 10,000 steps.
"""

from __future__ import annotations

import dataclasses
import itertools

from toysuper.generators import GENERATORS
from toysuper.models import INIT_SCHEMES
from toysuper.objectives import OBJECTIVE_KEYS, FreshBatches, Objective, from_config
from toysuper.validate import is_int, require

SCHEDULES = ("constant", "linear", "warmup_cosine")
OPTIMIZERS = ("adamw", "sgd")
OPTIONAL_FIELDS = {"snapshot_steps": (), "final_lr_fraction": 0.0, "decay_biases": True,
                   "optimizer": "adamw", "init": "kind", "rng": "counter"}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Static training setup; a compile key.

    Args:
      steps: optimiser steps; a multiple of `log_every`.
      batch_size: fresh samples drawn each step.
      log_every: the loss history holds the mean training loss of each window of this many steps.
      schedule: learning-rate schedule, one of `SCHEDULES` (constant: lr; linear: lr decays
        linearly to 0 at `steps`; warmup_cosine: linear warmup from 0 over `warmup_steps`, then
        cosine decay to `final_lr_fraction` * lr at `steps`, as in Henighan et al. 2023).
      warmup_steps: used by warmup_cosine only.
      final_lr_fraction: where warmup_cosine ends, as a fraction of the peak lr (0: Henighan
        et al. 2023; 0.05: Liu, Liu and Gore 2025).
      decay_biases: whether the decoupled weight decay acts on the biases too (True: PyTorch's
        AdamW on every parameter, as the TMS notebook; False: on W alone, as Liu, Liu and Gore).
      optimizer: one of `OPTIMIZERS`: "adamw" (TMS; Henighan et al.) or "sgd", plain
        stochastic gradient descent with the same decoupled decay (Chen et al. 2023).
      init: the initialisation, one of `toysuper.models.INIT_SCHEMES`: "kind", the model
        kind's own (Xavier-normal W, zero bias for the tied kinds; TMS), or "unit_rows",
        W ~ N(0, 1/m) and b ~ N(0, 1) (Liu, Liu and Gore 2025; tied kinds only).
      rng: the generator of each model's own data stream (its fresh batches), one of
        `toysuper.generators.GENERATORS`: "counter" (a counter-based hash, about 5x cheaper
        than threefry per random word) or "threefry" (JAX's default; the stream of toysuper
        0.5 and earlier). Both keep step t's key fold_in(data_key, t); datasets named by
        `dataset_seed` keep threefry, so analysis can rebuild them.
      b1, b2, eps: AdamW moments and epsilon (PyTorch's defaults, set explicitly); sgd uses
        eps alone, in the decay's row norm.
      snapshot_steps: steps after which the parameters are recorded inside the compiled loop
        (0 = the initialisation), strictly increasing, each <= steps; results then hold
        `W_snapshots` etc. with a `snapshot` dim (TMS section 7, learning dynamics).
      objective: how each step's loss is produced (`toysuper.objectives`): fresh batches of
        the model kind's inputs by default; e.g. `FixedDataset(capacity, max_active)` for a
        fixed training set, `PopulationLoss()` for the exact expected loss.
    """

    steps: int = 10_000
    batch_size: int = 1024
    log_every: int = 100
    schedule: str = "constant"
    warmup_steps: int = 0
    final_lr_fraction: float = 0.0
    decay_biases: bool = True
    optimizer: str = "adamw"
    init: str = "kind"
    rng: str = "counter"
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    snapshot_steps: tuple[int, ...] = ()
    objective: Objective = dataclasses.field(default_factory=FreshBatches)

    def __post_init__(self):
        for name in ("steps", "batch_size", "log_every"):
            value = getattr(self, name)
            require(is_int(value) and value >= 1, name, value, "an integer >= 1")
        require(self.steps % self.log_every == 0, "steps", self.steps,
                f"a multiple of log_every={self.log_every}")
        require(self.schedule in SCHEDULES, "schedule", self.schedule,
                f"one of {', '.join(SCHEDULES)}")
        require(is_int(self.warmup_steps) and 0 <= self.warmup_steps <= self.steps,
                "warmup_steps", self.warmup_steps, f"an integer in [0, steps={self.steps}]")
        require(0 <= self.final_lr_fraction <= 1, "final_lr_fraction", self.final_lr_fraction,
                "a number in [0, 1]")
        require(self.final_lr_fraction == 0 or self.schedule == "warmup_cosine",
                "final_lr_fraction", self.final_lr_fraction,
                f"0 with schedule={self.schedule!r} (it sets where warmup_cosine ends)")
        require(self.optimizer in OPTIMIZERS, "optimizer", self.optimizer,
                f"one of {', '.join(OPTIMIZERS)}")
        require(self.init in INIT_SCHEMES, "init", self.init,
                f"one of {', '.join(INIT_SCHEMES)}")
        require(self.rng in GENERATORS, "rng", self.rng, f"one of {', '.join(GENERATORS)}")
        require(isinstance(self.decay_biases, bool), "decay_biases", self.decay_biases,
                "True or False")
        require(0 <= self.b1 < 1, "b1", self.b1, "a number in [0, 1)")
        require(0 <= self.b2 < 1, "b2", self.b2, "a number in [0, 1)")
        require(self.eps > 0, "eps", self.eps, "a number > 0")
        snaps = tuple(self.snapshot_steps)
        require(all(is_int(s) for s in snaps) and all(0 <= s <= self.steps for s in snaps)
                and all(a < b for a, b in itertools.pairwise(snaps)), "snapshot_steps", snaps,
                f"strictly increasing integers in [0, steps={self.steps}]")
        object.__setattr__(self, "snapshot_steps", snaps)
        require(isinstance(self.objective, Objective), "objective",
                type(self.objective).__name__, "a toysuper.objectives.Objective, e.g. "
                "FreshBatches(), FixedDataset(capacity, max_active), PopulationLoss()")

    def static(self) -> TrainConfig:
        """This config as a compile key: without the arrays the objective passes as data."""
        return dataclasses.replace(self, objective=self.objective.static())

    def to_dict(self) -> dict:
        """JSON-able fields: the common ones (snapshot steps, final_lr_fraction, decay_biases,
        optimizer, init and rng only when not their defaults) and the objective's entries
        (`Objective.to_dict`), so configs keep the hash they had before these fields."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
             if f.name not in OPTIONAL_FIELDS and f.name != "objective"}
        d |= {name: getattr(self, name) for name, default in OPTIONAL_FIELDS.items()
              if getattr(self, name) != default}
        if "snapshot_steps" in d:
            d["snapshot_steps"] = list(self.snapshot_steps)
        return d | self.objective.to_dict()

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Inverse of `to_dict`."""
        common = {k: v for k, v in d.items() if k not in OBJECTIVE_KEYS}
        return cls(**common, objective=from_config(d))
