"""Training objectives: one module per way of producing a model's loss (see `base`).

    objective                   a step's loss                              Hyper fields it reads
    FreshBatches                a fresh batch of inputs (TMS; the default)  -
    AdversarialBatches          the same, each sample attacked (TMS s. 7)   attack_norm
    FixedDataset                the mean over a fixed training set (H+23)   dataset_size,
                                                                            dataset_seed
    PopulationLoss              the exact expected loss, by quadrature      -
    OneHotLoss                  the exact loss over one-hot inputs (C+23)   -
    OneHotDataset               a minibatch of a fixed one-hot set (C+23)   dataset_size,
                                                                            dataset_seed
    SparseAutoencoderTraining   an SAE's loss on toy models' activations    l1_coefficient,
                                                                            active_latents,
                                                                            dictionary_size,
                                                                            source_index
"""

from toysuper.fingerprint import fingerprint
from toysuper.hyper import COMMON_FIELDS, HYPER_FIELDS
from toysuper.objectives.adversarial import AdversarialBatches
from toysuper.objectives.base import Objective
from toysuper.objectives.fixed_dataset import FixedDataset
from toysuper.objectives.one_hot import OneHotDataset, OneHotLoss
from toysuper.objectives.population import PopulationLoss
from toysuper.objectives.sampled import FreshBatches
from toysuper.objectives.sparse_autoencoder import SourceModels, SparseAutoencoderTraining
from toysuper.validate import require

# the order `from_config` tries them in: registered ones first, FreshBatches (which reads any
# entries) last
BUILT_IN_OBJECTIVES: tuple[type[Objective], ...] = (
    SparseAutoencoderTraining, FixedDataset, PopulationLoss, OneHotLoss, OneHotDataset,
    AdversarialBatches,
    FreshBatches)
OBJECTIVES: list[type[Objective]] = list(BUILT_IN_OBJECTIVES)
# config entries that describe the objective (built-in ones)
OBJECTIVE_KEYS = {"source", "dataset", "exact_loss", "exact_resolution", "adversarial",
                  "feature_sets", "magnitude", "one_hot_dataset"}


def register_objective(cls: type[Objective], keys: tuple[str, ...]) -> None:
    """Make a new objective loadable from saved configs; training needs no registration.

    Args:
      cls: a frozen dataclass subclassing `Objective`, with its own `to_dict` writing entries
        under `keys` and its own `from_dict` reading them back (None for other entries).
      keys: the config entries that describe it: names no other objective and no `TrainConfig`
        field uses.

    Registering a class of the same module and name again replaces it (a class compares unequal
    to its earlier definition, so nothing compiled for that is reused; result directories tell
    the two apart by `objective_fingerprint`).
    """
    names = {c.__name__ for c in BUILT_IN_OBJECTIVES} | {"Objective"}
    require(isinstance(cls, type) and issubclass(cls, Objective) and cls.__name__ not in names,
            "cls", cls, "a subclass of toysuper.objectives.Objective named unlike the built-in "
            f"ones ({', '.join(sorted(names))})")
    require("to_dict" in vars(cls) and "from_dict" in vars(cls), "cls", cls.__name__,
            "a class that defines its own to_dict and from_dict")
    require(set(cls.fields) <= set(HYPER_FIELDS) - set(COMMON_FIELDS), "cls.fields", cls.fields,
            f"objective-specific Hyper fields (not {', '.join(COMMON_FIELDS)})")
    require(isinstance(keys, tuple) and bool(keys) and all(isinstance(k, str) for k in keys),
            "keys", keys, "a non-empty tuple of config entry names")
    name = f"{cls.__module__}.{cls.__qualname__}"
    taken = (OBJECTIVE_KEYS | TRAIN_CONFIG_KEYS) - set(_REGISTERED_KEYS.get(name, ()))
    require(not taken & set(keys), "keys", keys, f"names other than {sorted(taken)}")
    for old in [c for c in OBJECTIVES if f"{c.__module__}.{c.__qualname__}" == name]:
        OBJECTIVES.remove(old)
        OBJECTIVE_KEYS.difference_update(_REGISTERED_KEYS.pop(name, ()))
    OBJECTIVES.insert(0, cls)
    OBJECTIVE_KEYS.update(keys)
    _REGISTERED_KEYS[name] = keys


_REGISTERED_KEYS: dict[str, tuple[str, ...]] = {}  # module.qualname of a registered class -> keys
# TrainConfig's own fields (tests/test_objectives.py checks the list), which no objective may use
TRAIN_CONFIG_KEYS = frozenset({"steps", "batch_size", "log_every", "schedule", "warmup_steps",
                               "final_lr_fraction", "decay_biases", "optimizer", "init", "rng",
                               "b1", "b2",
                               "eps", "snapshot_steps", "objective"})


def from_config(entries: dict) -> Objective:
    """The objective a `TrainConfig`'s JSON entries describe (see `Objective.to_dict`)."""
    for cls in OBJECTIVES:
        objective = cls.from_dict(entries)
        if objective is not None:
            return objective
    raise AssertionError("FreshBatches describes any entries")


def objective_fingerprint(objective: Objective) -> str:
    """sha256 (16 hex digits) of a registered objective class's code; "" for a built-in one,
    whose code `toysuper.results.training_code` already covers."""
    cls = type(objective)
    if cls in BUILT_IN_OBJECTIVES:
        return ""
    return fingerprint({name: value for klass in cls.__mro__ if klass not in
                        (*BUILT_IN_OBJECTIVES, Objective, object)
                        for name, value in vars(klass).items() if not name.startswith("__")})


def field_owners() -> dict[str, list[str]]:
    """Each objective-specific `Hyper` field -> the names of the objectives that read it."""
    owners: dict[str, list[str]] = {}
    for cls in OBJECTIVES:
        for field in cls.fields:
            owners.setdefault(field, []).append(cls.__name__)
    return owners


__all__ = ["BUILT_IN_OBJECTIVES", "OBJECTIVES", "OBJECTIVE_KEYS", "AdversarialBatches",
           "FixedDataset", "FreshBatches", "Objective", "OneHotDataset", "OneHotLoss",
           "PopulationLoss",
           "SourceModels", "SparseAutoencoderTraining", "field_owners", "from_config",
           "objective_fingerprint", "register_objective"]
