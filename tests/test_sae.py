"""Sparse autoencoders on toy-model activations: codes, masks, recovery metrics, learning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import toysuper as ts
from toysuper.analysis.dictionary import code_statistics, max_cosines, recovery
from toysuper.objectives import SourceModels, SparseAutoencoderTraining
from toysuper.objectives.sparse_autoencoder import sample_activations
from toysuper.sae import SAEParams, dictionary, encode


def random_sae(L=8, m=3, seed=0):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    return SAEParams(W=jax.random.normal(k1, (L, m)), W_enc=jax.random.normal(k2, (L, m)),
                     b=0.1 * jax.random.normal(k3, (L,)), b_dec=jnp.zeros(m))


def test_topk_code_keeps_k_latents_within_the_dictionary_size():
    params = random_sae()
    h = jax.random.normal(jax.random.key(1), (64, 3))
    hyper = ts.Hyper.create(8, active_latents=2, dictionary_size=5)
    f = np.asarray(encode(params, h, "sae_topk", hyper))
    assert np.all((f > 0).sum(-1) <= 2) and np.all(f[:, 5:] == 0)
    relu = np.asarray(encode(params, h, "sae_relu", hyper))
    kept = f > 0  # the kept entries are the ReLU code's largest in-use entries
    np.testing.assert_allclose(f[kept], relu[kept])
    assert np.all(np.sort(relu[:, :5], -1)[:, -2:].min(-1) <= f.max(-1) + 1e-7)


def test_dictionary_rows_have_unit_norm():
    D = np.asarray(dictionary(random_sae()))
    np.testing.assert_allclose(np.linalg.norm(D, axis=-1), 1, rtol=1e-6)


def test_recovery_metrics_on_a_constructed_dictionary():
    """A dictionary holding 3 of 4 true directions exactly (plus a random latent) recovers 3;
    the unrepresented feature is not counted; latents out of use are ignored."""
    true_W = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0.6, 0.8, 0], [0.01, 0, 0]])
    learned = np.array([[2.0, 0, 0], [0, 0.5, 0], [0, 0, 3.0], [0.3, -0.2, 0.9], [0.6, 0.8, 0]])
    in_use = np.array([True, True, True, True, False])
    out = recovery(true_W, learned, in_use)
    assert out["represented"] == 4 and out["recovered"] == 3
    best = max_cosines(true_W, learned, in_use)
    assert out["mmcs"] == pytest.approx(np.mean(best[:4]))
    assert best[3] == pytest.approx(0.8)  # (0.6, 0.8) against e_2, not the unused latent


def test_code_statistics():
    codes = np.zeros((1, 4, 3))
    codes[0, :, 0] = 1.0
    codes[0, 0, 1] = 2.0
    h = np.array([[[1.0, 0], [0, 1.0], [-1.0, 0], [0, -1.0]]])
    stats = code_statistics(codes, h, h * 0.5, np.array([[True, True, True]]))
    assert stats["dead_fraction"][0] == pytest.approx(1 / 3)
    assert stats["l0"][0] == pytest.approx(1.25)
    assert stats["nmse"][0] == pytest.approx(0.25)


def pentagon_source():
    angles = 2 * np.pi * np.arange(5) / 5
    W = np.stack([np.cos(angles), np.sin(angles)], -1)[None]
    return SourceModels.from_arrays(W, [0.05])


def test_activations_are_the_toy_models_hidden_vectors():
    source = pentagon_source()
    h = np.asarray(sample_activations(jax.random.key(0), source, 0, 20_000))
    on = np.linalg.norm(h, axis=-1) > 1e-6
    assert abs(on.mean() - (1 - 0.95**5)) < 0.01  # a sample is nonzero when a feature is active
    single = h[on][np.abs(np.linalg.norm(h[on], axis=-1)) > 0]
    cos = single @ np.asarray(source.W[0]).T / np.linalg.norm(single, axis=-1, keepdims=True)
    assert np.mean(cos.max(-1) > 0.9999) > 0.75  # mostly one active feature: along some W_i


def sae_train(steps=100, **kwargs) -> ts.TrainConfig:
    """A TrainConfig of SAEs on the pentagon's activations."""
    return ts.TrainConfig(steps=steps, objective=SparseAutoencoderTraining(pentagon_source()),
                          **kwargs)


def test_sae_learns_the_pentagon_directions():
    """A learning threshold: TopK (k=1) SAEs with 10 latents on a sparse pentagon's activations
    find all five directions at cosine > 0.95 for most seeds."""
    source = pentagon_source()
    sweep = ts.Sweep(ts.ModelConfig(10, 2, "sae_topk"),
                     sae_train(steps=1500, batch_size=512),
                     axes={"seed": range(4)},
                     fixed={"active_latents": 1, "lr": 3e-3, "weight_decay": 0.0})
    ds = ts.run_sweep(sweep, progress=False).to_xarray()
    D = np.asarray(dictionary(SAEParams(**{k: ds[k].values for k in ("W", "W_enc", "b",
                                                                       "b_dec")})))
    rec = recovery(np.asarray(source.W)[[0] * 4], D, np.ones((4, 10), bool))
    assert np.sum(rec["recovered"] == 5) >= 3


@pytest.mark.parametrize("make, field", [
    (lambda: ts.Sweep(ts.ModelConfig(8, 2, "sae_relu"), ts.TrainConfig(steps=100)), "source"),
    (lambda: ts.Sweep(ts.ModelConfig(8, 3, "sae_relu"),
                      sae_train()), "n_hidden"),
    (lambda: ts.Sweep(ts.ModelConfig(8, 2, "sae_topk"),
                      sae_train()), "active_latents"),
    (lambda: ts.Sweep(ts.ModelConfig(8, 2, "sae_relu"),
                      sae_train(),
                      axes={"source_index": [0, 1]}), "source_index"),
    (lambda: ts.Sweep(ts.ModelConfig(8, 2, "sae_relu"),
                      sae_train(),
                      axes={"dictionary_size": [4, 9]}), "dictionary_size"),
    (lambda: ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100),
                      fixed={"l1_coefficient": 0.1}), "l1_coefficient"),
    (lambda: SourceModels.from_arrays(np.zeros((1, 5, 2)), [1.5]), "source.feature_probability"),
])
def test_sae_bad_input_names_the_field(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_sae_sweep_round_trips_through_its_config(tmp_path):
    sweep = ts.Sweep(ts.ModelConfig(6, 2, "sae_relu"),
                     sae_train(batch_size=64),
                     axes={"l1_coefficient": [0.01, 0.1]}, fixed={"weight_decay": 0.0})
    ts.run_sweep(sweep, out=tmp_path, progress=False)
    loaded = ts.load(tmp_path)
    assert loaded.sweep.config_hash() == sweep.config_hash()
    assert loaded.sweep.train == sweep.train
    assert loaded.to_xarray()["b_dec"].dims == ("l1_coefficient", "hidden")
