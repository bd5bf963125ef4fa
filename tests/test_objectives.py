"""The objectives seam: a new objective is one class; SAE source models are data, not compile
keys; objective-specific fields are refused elsewhere; configs round-trip."""

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import toysuper as ts
from toysuper import engine
from toysuper.models import weighted_mse
from toysuper.objectives import OBJECTIVE_KEYS, OBJECTIVES, register_objective
from toysuper.results import stale, training_code


@dataclasses.dataclass(frozen=True)
class DenseBatches(ts.Objective):
    """Every feature active at every sample (a test objective): x ~ U[0, scale)^n."""

    scale: float = 1.0
    name: ClassVar[str] = "dense_batches"

    def loss(self, data_key, hyper, model, batch_size, shared=None):
        def loss(params, t):
            x = self.scale * jax.random.uniform(jax.random.fold_in(data_key, t),
                                                (batch_size, model.n_features))
            return weighted_mse(params, x, hyper.importance, model.kind)

        return loss

    def to_dict(self):
        return {"dense_scale": self.scale}

    @classmethod
    def from_dict(cls, d):
        return cls(d["dense_scale"]) if "dense_scale" in d else None


@pytest.fixture
def dense_registered():
    register_objective(DenseBatches, ("dense_scale",))
    yield
    OBJECTIVES.remove(DenseBatches)
    OBJECTIVE_KEYS.discard("dense_scale")


def test_a_new_objective_trains_saves_and_loads(dense_registered, tmp_path):
    """One class and a registration: it trains through the sweep engine (as a hand-written
    loop of the same loss would, to float rounding), and its config loads back."""
    train = ts.TrainConfig(steps=200, batch_size=64, log_every=100,
                           objective=DenseBatches(0.5))
    sweep = ts.Sweep(ts.ModelConfig(3, 2, "linear"), train, axes={"seed": range(2)})
    result = ts.run_sweep(sweep, out=tmp_path, progress=False)
    single = jax.jit(ts.train, static_argnums=(2, 3))(
        jax.random.fold_in(jax.random.key(0), 1), ts.Hyper.create(3, seed=1), sweep.model,
        train)[0]
    np.testing.assert_allclose(result.dataset["W"].values[1], single.W, rtol=1e-5, atol=1e-6)
    # dense inputs in [0, 0.5): predicting 0 loses 3 E[x^2] = 0.25; a linear model with 2 of 3
    # dimensions learns most of it (the mean direction) but cannot reach zero
    assert 0 < float(result.dataset["loss"].max()) < 0.25 * 0.25
    loaded = ts.load(tmp_path)
    assert loaded.sweep.train.objective == DenseBatches(0.5)
    assert loaded.sweep.config_hash() == sweep.config_hash()
    assert training_code("linear", DenseBatches()) != training_code("linear")
    assert not stale(tmp_path)


def test_a_registered_objective_must_name_new_entries():
    """Its entries, fields and name may not take what the built-in objectives or TrainConfig
    use, and it reads its own entries back (a subclass does not inherit a catch-all)."""
    with pytest.raises(ValueError, match="keys"):
        register_objective(DenseBatches, ("dataset",))
    with pytest.raises(ValueError, match="keys"):
        register_objective(DenseBatches, ("steps",))
    with pytest.raises(ValueError, match="cls"):
        register_objective(ts.FreshBatches, ("x",))

    @dataclasses.dataclass(frozen=True)
    class Noisy(ts.FreshBatches):  # no to_dict / from_dict of its own
        pass

    with pytest.raises(ValueError, match="its own to_dict and from_dict"):
        register_objective(Noisy, ("noise",))
    assert Noisy.from_dict({}) is None

    @dataclasses.dataclass(frozen=True)
    class FreshBatches(DenseBatches):  # a built-in's name
        pass

    with pytest.raises(ValueError, match="named unlike the built-in"):
        register_objective(FreshBatches, ("x",))

    @dataclasses.dataclass(frozen=True)
    class ReadsLr(DenseBatches):
        fields: ClassVar[tuple[str, ...]] = ("lr",)

        def to_dict(self):
            return {"reads_lr": True}

        @classmethod
        def from_dict(cls, d):
            return cls() if "reads_lr" in d else None

    with pytest.raises(ValueError, match="objective-specific Hyper fields"):
        register_objective(ReadsLr, ("reads_lr",))
    assert ts.TrainConfig.from_dict(ts.TrainConfig().to_dict()).objective == ts.FreshBatches()


def test_no_objective_entry_is_a_train_config_field():
    from toysuper.objectives import TRAIN_CONFIG_KEYS

    assert TRAIN_CONFIG_KEYS == {f.name for f in dataclasses.fields(ts.TrainConfig)}
    assert not OBJECTIVE_KEYS & TRAIN_CONFIG_KEYS


def pentagon_sources(scale: float) -> ts.SourceModels:
    angles = 2 * np.pi * np.arange(5) / 5
    W = scale * np.stack([np.cos(angles), np.sin(angles)], -1)[None].astype(np.float32)
    return ts.SourceModels(W, [0.05])


def test_sae_sources_are_data_not_compile_keys():
    """Two SAE sweeps on different toy models of the same shapes share one compiled program
    (the sources are an argument, not constants) and still train on their own activations."""
    def sae_sweep(scale):
        return ts.Sweep(ts.ModelConfig(6, 2, "sae_relu"),
                        ts.TrainConfig(steps=100, batch_size=64, log_every=100,
                                       objective=ts.SparseAutoencoderTraining(
                                           pentagon_sources(scale))),
                        axes={"seed": range(2)}, fixed={"weight_decay": 0.0})

    first = ts.run_sweep(sae_sweep(1.0), progress=False, chunk_size=2)
    compiled = engine._advance_chunk._cache_size()
    second = ts.run_sweep(sae_sweep(3.0), progress=False, chunk_size=2)
    assert engine._advance_chunk._cache_size() == compiled
    assert sae_sweep(1.0).train.static() == sae_sweep(3.0).train.static()
    assert sae_sweep(1.0).train != sae_sweep(3.0).train  # content decides equality and hash
    with pytest.raises(ValueError, match="compile-key form"):
        sae_sweep(1.0).train.static().to_dict()
    assert sae_sweep(1.0).config_hash() != sae_sweep(3.0).config_hash()
    # activations 3x larger: a reconstruction error that starts 9x larger
    assert float(second.dataset["loss"].mean()) > 2 * float(first.dataset["loss"].mean())


@pytest.mark.parametrize("objective, fields", [
    (ts.FreshBatches(), {"attack_norm": 0.1}),
    (ts.PopulationLoss(8), {"dataset_size": 4}),
    (ts.AdversarialBatches(), {"l1_coefficient": 0.1}),
])
def test_fields_of_another_objective_are_refused_naming_it(objective, fields):
    (field,) = fields
    owner = {"attack_norm": "AdversarialBatches", "dataset_size": "FixedDataset",
             "l1_coefficient": "SparseAutoencoderTraining"}[field]
    with pytest.raises(ValueError, match=f"{field} only with the objective {owner}"):
        ts.Sweep(ts.ModelConfig(3, 2), ts.TrainConfig(steps=100, objective=objective),
                 fixed=fields)


@pytest.mark.parametrize("objective", [
    ts.FreshBatches(), ts.FreshBatches(ts.FeatureSets((("correlated", 2), ("independent", 1)))),
    ts.AdversarialBatches(), ts.FixedDataset(16, 3, "dense"), ts.PopulationLoss(),
    ts.PopulationLoss(8), ts.OneHotLoss(), ts.SparseAutoencoderTraining(pentagon_sources(1.0)),
])
def test_every_objective_round_trips_through_the_config(objective):
    train = ts.TrainConfig(steps=100, objective=objective)
    again = ts.TrainConfig.from_dict(train.to_dict())
    assert again == train and type(again.objective) is type(objective)


def test_memory_estimate_follows_the_objective():
    """Rows per step: the batch, a fixed dataset's capacity, quadrature nodes, n one-hot inputs;
    a dataset row also holds its K slots."""
    model = ts.ModelConfig(3, 2)
    per = {type(o).__name__: o.bytes_per_model(model, 1024) for o in (
        ts.FreshBatches(), ts.FixedDataset(4096, 3), ts.PopulationLoss(8), ts.OneHotLoss())}
    fixed = 4 * (8 * 3 * 2 + 8 * 3)
    assert per["FreshBatches"] == 4 * 1024 * (8 * 3 + 4 * 2) + fixed
    assert per["FixedDataset"] == 4 * 4096 * (8 * 3 + 4 * 2 + 4 * 3 * 4) + fixed
    assert per["PopulationLoss"] == 4 * 9**3 * (8 * 3 + 4 * 2) + fixed
    assert per["OneHotLoss"] == 4 * 3 * (8 * 3 + 4 * 2) + fixed


def test_training_never_asks_which_objective():
    """`batch_loss_and_grad` is the objective's own: no mode branches in the training step."""
    import importlib
    import inspect

    train = importlib.import_module("toysuper.training")
    source = inspect.getsource(train.batch_loss_and_grad) + inspect.getsource(train.advance)
    assert " if " not in source.replace("if snapshots is not None", "")
    assert jnp.isfinite(train.batch_loss(
        jax.random.key(0), ts.Hyper.create(3), ts.ModelConfig(3, 2),
        ts.TrainConfig(objective=ts.OneHotLoss()))(
        ts.MODEL_KINDS["relu_output"].init(jax.random.key(1), ts.ModelConfig(3, 2)), 0))
