"""Run once with the code BEFORE the objectives seam: saves each sweep's config and arrays."""
import json, platform, sys
import jax, numpy as np
import toysuper as ts
from toysuper.config import DatasetConfig, FeatureSets
from toysuper.sae import SourceModels

imp = ts.decaying_importance(5, 0.9)
rng = np.random.default_rng(0)
sources = SourceModels.from_arrays(rng.normal(size=(2, 6, 3)).astype(np.float32) * 0.5, [0.1, 0.3])
short = dict(steps=200, log_every=50)
sweeps = {
  "fresh_feature_major": ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(**short, batch_size=256, snapshot_steps=(0, 100, 200)),
        axes={"feature_probability": [1.0, 0.1], "seed": range(2)}, fixed={"importance": imp}),
  "fresh_rows": ts.Sweep(ts.ModelConfig(20, 5, "relu_hidden"), ts.TrainConfig(**short, batch_size=128, schedule="warmup_cosine", warmup_steps=50),
        axes={"seed": range(2)}, fixed={"feature_probability": 0.2}),
  "fresh_abs_mlp": ts.Sweep(ts.ModelConfig(6, 3, "abs_mlp"), ts.TrainConfig(**short, batch_size=128, schedule="linear"),
        axes={"seed": range(2)}, fixed={"feature_probability": 0.3}),
  "feature_sets": ts.Sweep(ts.ModelConfig(7, 2), ts.TrainConfig(**short, batch_size=128,
        feature_sets=FeatureSets((("correlated", 2), ("anticorrelated", 3), ("independent", 2)))),
        axes={"seed": range(2)}, fixed={"feature_probability": 0.2}),
  "dataset_sparse": ts.Sweep(ts.ModelConfig(30, 2), ts.TrainConfig(**short, schedule="warmup_cosine", warmup_steps=20,
        dataset=DatasetConfig(64, 16)), axes={"dataset_size": [8, 64], "seed": range(2)},
        fixed={"feature_probability": 0.1, "lr": 1e-2, "weight_decay": 0.01, "dataset_seed": 3}),
  "dataset_dense": ts.Sweep(ts.ModelConfig(30, 2), ts.TrainConfig(**short, dataset=DatasetConfig(32, 16, "dense")),
        axes={"dataset_size": [5, 0]}, fixed={"feature_probability": 0.1}),
  "exact_population": ts.Sweep(ts.ModelConfig(3, 2), ts.TrainConfig(**short, exact_loss="population", exact_resolution=8),
        axes={"feature_probability": [0.5, 0.05], "seed": range(2)}, fixed={"importance": [1.0, 1.0, 0.5]}),
  "exact_one_hot": ts.Sweep(ts.ModelConfig(6, 2), ts.TrainConfig(**short, exact_loss="one_hot"),
        axes={"seed": range(3)}, fixed={"lr": 1e-2}),
  "adversarial": ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(**short, batch_size=128, adversarial=True),
        axes={"attack_norm": [0.0, 0.2], "seed": range(2)}, fixed={"feature_probability": 0.1, "importance": imp}),
  "sae_relu": ts.Sweep(ts.ModelConfig(8, 3, "sae_relu"), ts.TrainConfig(**short, batch_size=128, source=sources),
        axes={"source_index": [0, 1], "l1_coefficient": [0.01, 0.1]}, fixed={"dictionary_size": 6, "weight_decay": 0.0}),
  "sae_topk": ts.Sweep(ts.ModelConfig(8, 3, "sae_topk"), ts.TrainConfig(**short, batch_size=128, source=sources),
        axes={"source_index": [0, 1]}, fixed={"active_latents": 2, "weight_decay": 0.0}),
}
out = {}
configs = {}
for name, sweep in sweeps.items():
    r = ts.run_sweep(sweep, progress=False, chunk_size=max(1, sweep.size // 2), steps_per_call=100)
    ds = r.to_xarray()
    for var in ds.data_vars:
        if var in ("W", "b", "W_out", "W_enc", "b_dec", "loss_history", "diverged_step") or var.endswith("_snapshots"):
            out[f"{name}/{var}"] = ds[var].values
    out[f"{name}/eval_loss"] = r.evaluation_loss().values
    configs[name] = {"sweep": sweep.to_dict(), "config_hash": sweep.config_hash(), "size": sweep.size}
    print(name, sweep.config_hash(), float(ds["loss"].mean()))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
meta = {"configs": configs, "jax": jax.__version__, "cpu": cpu,
        "training_code": __import__("toysuper.results", fromlist=["x"]).training_code()}
np.savez_compressed(sys.argv[1], **out, meta=np.array(json.dumps(meta)))
