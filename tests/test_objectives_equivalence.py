"""Every objective trains to the same bits as the code that made the golden arrays.

tests/data/objectives_golden.npz holds one small sweep per way of training (fresh batches in
both layouts and for abs_mlp, feature sets, fixed datasets in both layouts, the exact population
and one-hot losses, adversarial training, both SAE kinds): each sweep's config as the old code
wrote it, its config hash, and the arrays and common evaluation losses the old code produced
(made at commit 99aad1b, with the threefry data stream of toysuper 0.5 and earlier). Each sweep
is rebuilt from the old config JSON, so the test also shows that old configs load and keep
their hash; with `rng="threefry"` they train to those arrays within float32 rounding (0.6
computes the same sums in another order).

tests/data/objectives_golden_counter.npz holds the same sweeps trained by this code with its
default counter-based stream, bit for bit. If training is changed on purpose, regenerate it
(`python tests/test_objectives_equivalence.py`) and empty
`toysuper.results.EQUIVALENT_TRAINING_CODE`; if the bits stay the same, add the fingerprint
the file records to that set.
"""

import dataclasses
import functools
import json
import platform
from pathlib import Path

import jax
import numpy as np
import pytest

import toysuper as ts
from toysuper.results import EQUIVALENT_TRAINING_CODE, training_code

DATA = Path(__file__).parent / "data"
THREEFRY = np.load(DATA / "objectives_golden.npz")
META = json.loads(str(THREEFRY["meta"]))
COUNTER_PATH = DATA / "objectives_golden_counter.npz"


@functools.cache
def counter_golden():
    """(arrays, meta) of the golden file of this code's stream."""
    arrays = np.load(COUNTER_PATH)
    return arrays, json.loads(str(arrays["meta"]))


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f
                     if line.startswith("model name")), platform.processor())


def train(name: str, rng: str | None = None):
    """The golden sweep `name` (from its old config JSON), trained; its arrays by variable."""
    config = META["configs"][name]
    sweep = ts.Sweep.from_dict(config["sweep"])
    assert sweep.config_hash() == config["config_hash"]
    assert json.loads(json.dumps(sweep.to_dict())) == config["sweep"]
    if rng is not None:
        sweep = dataclasses.replace(sweep, train=dataclasses.replace(sweep.train, rng=rng))
    result = ts.run_sweep(sweep, progress=False, chunk_size=max(1, sweep.size // 2),
                          steps_per_call=100)
    ds = result.to_xarray()
    return {var: np.asarray(ds[var].values) for var in ds.data_vars} | {
        "eval_loss": np.asarray(result.evaluation_loss().values)}


def golden(arrays, name: str) -> dict:
    return {key.split("/", 1)[1]: arrays[key] for key in arrays.files
            if key.startswith(f"{name}/")}


@pytest.mark.parametrize("name", sorted(META["configs"]))
def test_objective_trains_the_same_bits_as_before(name):
    got = train(name)
    arrays, meta = counter_golden()
    expected = golden(arrays, name)
    assert set(expected) <= set(got)
    same_machine = meta["cpu"] == cpu_model() and meta["jax"] == jax.__version__
    for var, want in expected.items():
        if same_machine:
            np.testing.assert_array_equal(got[var], want, err_msg=f"{name}/{var}")
        else:  # another instruction set can reorder float sums: float32 rounding, short run
            np.testing.assert_allclose(got[var], want, rtol=2e-3, atol=2e-5,
                                       err_msg=f"{name}/{var}")


@pytest.mark.parametrize("name", sorted(META["configs"]))
def test_the_threefry_stream_trains_what_the_old_code_trained(name):
    got = train(name, rng="threefry")
    for var, want in golden(THREEFRY, name).items():
        np.testing.assert_allclose(got[var], want, rtol=2e-3, atol=2e-5, err_msg=f"{name}/{var}")


def test_results_of_other_training_code_are_not_reused():
    assert META["training_code"] not in EQUIVALENT_TRAINING_CODE  # another stream
    assert training_code() not in EQUIVALENT_TRAINING_CODE
    made_by = counter_golden()[1]["training_code"]
    assert made_by == training_code() or made_by in EQUIVALENT_TRAINING_CODE


def write_counter_golden(path: Path = COUNTER_PATH) -> None:
    """Train every golden sweep with this code and save the arrays (see the module docstring)."""
    arrays = {f"{name}/{var}": value for name in META["configs"]
              for var, value in train(name).items() if var in golden(THREEFRY, name)}
    meta = {"jax": jax.__version__, "cpu": cpu_model(), "training_code": training_code()}
    np.savez_compressed(path, meta=json.dumps(meta), **arrays)


if __name__ == "__main__":
    write_counter_golden()
