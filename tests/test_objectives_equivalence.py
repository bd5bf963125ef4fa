"""Every objective trains to the same bits as the code before the objectives seam.

tests/data/objectives_golden.npz holds one small sweep per way of training (fresh batches in
both layouts and for abs_mlp, feature sets, fixed datasets in both layouts, the exact population
and one-hot losses, adversarial training, both SAE kinds): each sweep's config as the old code
wrote it, its config hash, and the arrays and common evaluation losses the old code produced
(made at commit 99aad1b). Each sweep is rebuilt from the old config JSON, so the test also shows
that old configs load and keep their hash. If training is changed on purpose, regenerate the
file and empty `toysuper.results.EQUIVALENT_TRAINING_CODE`.
"""

import json
import platform
from pathlib import Path

import jax
import numpy as np
import pytest

import toysuper as ts

GOLDEN = np.load(Path(__file__).parent / "data" / "objectives_golden.npz")
META = json.loads(str(GOLDEN["meta"]))


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f
                     if line.startswith("model name")), platform.processor())


# bit for bit where XLA compiles for the same CPU as when the arrays were saved; elsewhere
# (another instruction set can reorder float sums) to float32 rounding over a short run
SAME_MACHINE = META["cpu"] == cpu_model() and META["jax"] == jax.__version__


@pytest.mark.parametrize("name", sorted(META["configs"]))
def test_objective_trains_the_same_bits_as_before_the_seam(name):
    config = META["configs"][name]
    sweep = ts.Sweep.from_dict(config["sweep"])
    assert sweep.config_hash() == config["config_hash"]
    assert json.loads(json.dumps(sweep.to_dict())) == config["sweep"]
    result = ts.run_sweep(sweep, progress=False, chunk_size=max(1, sweep.size // 2),
                          steps_per_call=100)
    ds = result.to_xarray()
    arrays = {key.split("/", 1)[1]: GOLDEN[key] for key in GOLDEN.files
              if key.startswith(f"{name}/")}
    assert set(arrays) - {"eval_loss"} <= set(ds.data_vars)
    for var, expected in arrays.items():
        got = result.evaluation_loss().values if var == "eval_loss" else ds[var].values
        if SAME_MACHINE:
            np.testing.assert_array_equal(got, expected, err_msg=f"{name}/{var}")
        else:
            np.testing.assert_allclose(got, expected, rtol=2e-3, atol=2e-5,
                                       err_msg=f"{name}/{var}")


def test_the_old_training_code_counts_as_this_code():
    from toysuper.results import EQUIVALENT_TRAINING_CODE, training_code

    assert META["training_code"] in EQUIVALENT_TRAINING_CODE
    assert training_code() not in EQUIVALENT_TRAINING_CODE
