"""Bad input gets a clear error naming the field, before anything compiles.

API: a ValueError naming the field, the value and what is allowed. CLI: one line on stderr, exit
code 2, no traceback.
"""

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import toysuper as ts

MODEL, TRAIN = ts.ModelConfig(5, 2), ts.TrainConfig(steps=100)


def sweep(axes=None, fixed=None, **kw):
    return ts.Sweep(MODEL, TRAIN, axes={"seed": [0]} if axes is None else axes,
                    fixed=fixed or {}, **kw)


API_CASES = [  # (what is wrong, call, pattern the message must contain)
    ("n_hidden zero", lambda: ts.ModelConfig(5, 0), "n_hidden=0"),
    ("n_features negative", lambda: ts.ModelConfig(-3, 2), "n_features=-3"),
    ("n_features not an integer", lambda: ts.ModelConfig(5.5, 2), "n_features=5.5"),
    ("n_features a bool", lambda: ts.ModelConfig(True, 2), "n_features=True"),
    ("unknown model kind", lambda: ts.ModelConfig(5, 2, "mlp"), "kind='mlp'.*relu_output"),
    ("steps not an integer", lambda: ts.TrainConfig(steps=100.5), "steps=100.5"),
    ("steps not a multiple of log_every", lambda: ts.TrainConfig(steps=150, log_every=100),
     "steps=150.*log_every=100"),
    ("batch size zero", lambda: ts.TrainConfig(batch_size=0), "batch_size=0"),
    ("unknown schedule", lambda: ts.TrainConfig(schedule="step"), "schedule='step'.*constant"),
    ("warmup longer than training", lambda: ts.TrainConfig(steps=100, warmup_steps=200,
                                                           schedule="warmup_cosine"),
     "warmup_steps=200"),
    ("beta out of range", lambda: ts.TrainConfig(b1=1.0), "b1=1.0"),
    ("eps not positive", lambda: ts.TrainConfig(eps=0.0), "eps=0.0"),
    ("probability zero", lambda: ts.Hyper.create(3, feature_probability=0.0),
     r"feature_probability=\[0., 0., 0.\].*\(0, 1\]"),
    ("probability above one", lambda: ts.Hyper.create(3, feature_probability=1.5),
     r"feature_probability=\[1.5, 1.5, 1.5\]"),
    ("per-feature vector of the wrong length", lambda: ts.Hyper.create(3, importance=[1, 2]),
     "importance.*n_features=3"),
    ("NaN importance", lambda: ts.Hyper.create(3, importance=[1, np.nan, 1]),
     "importance.*finite"),
    ("negative learning rate", lambda: ts.Hyper.create(3, lr=-1), "lr=-1"),
    ("learning rate not a number", lambda: ts.Hyper.create(3, lr="fast"), "lr='fast'"),
    ("weight decay not finite", lambda: ts.Hyper.create(3, weight_decay=np.inf),
     "weight_decay=inf.*finite"),
    ("negative seed", lambda: ts.Hyper.create(3, seed=-2), "seed=-2"),
    ("fractional seed", lambda: ts.Hyper.create(3, seed=1.5), "seed=1.5.*whole"),
    ("empty grid axis", lambda: sweep({"feature_probability": []}), "non-empty"),
    ("axis value out of range", lambda: sweep({"feature_probability": [0.5, 0.0]}),
     r"feature_probability.*\(0, 1\]"),
    ("unknown axis field", lambda: sweep({"momentum": [0.9]}), "field='momentum'"),
    ("fixed and swept at once", lambda: sweep({"seed": [0]}, {"seed": 1}), "no axis sweeps"),
    ("unknown fixed field", lambda: sweep(fixed={"temperature": 1}), "temperature"),
    ("vector axis named like its field", lambda: sweep({"importance": np.ones((2, 5))}),
     "a name other than"),
    ("vector axis of the wrong length",
     lambda: sweep((ts.Axis("r", np.ones((2, 4)), "importance"),)), "n_features=5"),
    ("axis coords of the wrong length",
     lambda: sweep((ts.Axis("lr", [1e-3, 1e-2], coords=[1, 2, 3]),)), "coords shape"),
    ("negative root seed", lambda: sweep(root_seed=-1), "root_seed=-1"),
    ("root seed beyond 32 bits", lambda: sweep(root_seed=2**32), "root_seed=4294967296"),
    ("seed that does not fit int32", lambda: sweep({"seed": [0, 2**31]}), "2147483648"),
    ("axis named like a result dimension",
     lambda: sweep((ts.Axis("step", [1e-3, 1e-2], "lr"),)), "axis name='step'"),
    ("axis named like a parameter",
     lambda: sweep((ts.Axis("W", [1e-3, 1e-2], "lr"),)), "axis name='W'"),
    ("axis named like another field",
     lambda: sweep((ts.Axis("weight_decay", [1e-3, 1e-2], "lr"),)), "axis name='weight_decay'"),
    ("decay above one", lambda: ts.decaying_importance(5, 1.5), "decay=1.5"),
    ("one model larger than the memory",
     lambda: ts.run_sweep(ts.Sweep(ts.ModelConfig(10**6, 2), ts.TrainConfig(
         steps=10, batch_size=1024, log_every=10)), progress=False), "30.6 GiB per model"),
    ("chunk size zero", lambda: ts.run_sweep(sweep(), chunk_size=0, progress=False),
     "chunk_size=0"),
    ("steps per call zero", lambda: ts.run_sweep(sweep(), steps_per_call=0, progress=False),
     "steps_per_call=0"),
    ("steps per call not dividing steps",
     lambda: ts.run_sweep(sweep(), steps_per_call=30, progress=False), "steps_per_call=30"),
    ("checkpoint interval not a multiple",
     lambda: ts.run_sweep(sweep(), steps_per_call=100, checkpoint_every=150, progress=False),
     "checkpoint_every=150"),
    ("best_over an axis that is not there",
     lambda: ts.run_sweep(sweep(), progress=False).best_over("feature"), "dim='feature'"),
]


@pytest.mark.parametrize(("call", "pattern"), [c[1:] for c in API_CASES],
                         ids=[c[0] for c in API_CASES])
def test_api_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_at_least_25_cases():
    assert len(API_CASES) + len(CLI_CASES) >= 25


CLI_CASES = [  # (what is wrong, arguments, pattern)
    ("unknown experiment", ["run", "nonexistent"], "invalid choice: 'nonexistent'.*intro"),
    ("unknown fidelity", ["run", "intro", "--fidelity", "huge"], "'huge'.*quick.*paper"),
    ("negative seed", ["run", "intro", "--seed", "-1"], "--seed.*-1"),
    ("seed not an integer", ["run", "intro", "--seed", "one"], "--seed.*'one'"),
    ("seed beyond 32 bits", ["run", "intro", "--seed", "4294967296"], "--seed.*4294967296"),
    ("unknown experiment in --only", ["reproduce", "--only", "nope"], "'nope'.*intro"),
    ("unknown command", ["frobnicate"], "'frobnicate'.*list"),
    ("missing experiment name", ["run"], "NAME"),
]


@pytest.mark.parametrize(("args", "pattern"), [c[1:] for c in CLI_CASES],
                         ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(args, pattern):
    proc = subprocess.run([sys.executable, "-m", "toysuper.cli", *args], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert re.search(pattern, proc.stderr), proc.stderr


def test_cli_out_is_a_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    proc = subprocess.run([sys.executable, "-m", "toysuper.cli", "run", "intro", "--out",
                           str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "is a file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_helpers():
    np.testing.assert_allclose(ts.power_space(20, 10)[[0, -1]], [1, 0.05], rtol=1e-6)
    np.testing.assert_allclose(ts.decaying_importance(3, 0.7), [1, 0.7, 0.49], rtol=1e-6)


@pytest.mark.parametrize("where, name", [("axes", "density"), ("axes", "sparsity"),
                                         ("fixed", "p"), ("fixed", "S")])
def test_names_for_the_density_suggest_feature_probability(where, name):
    with pytest.raises(ValueError, match=r"did you mean 'feature_probability'.*not sparsities"):
        ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100), **{where: {name: [0.1]}})


def test_near_miss_names_are_suggested():
    with pytest.raises(ValueError, match=r"did you mean 'relu_output'"):
        ts.ModelConfig(5, 2, "relu_ouput")
    with pytest.raises(ValueError, match=r"did you mean 'weight_decay'"):
        ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100), fixed={"weight_decy": 0.0})


def test_a_per_feature_axis_as_long_as_the_features_is_refused_as_ambiguous():
    """`axes={"importance": decaying_importance(5, 0.9)}` would train 5 uniform importances;
    it is refused, and the column form sweeps those scalars explicitly."""
    importance = ts.decaying_importance(5, 0.9)
    with pytest.raises(ValueError, match=r"fixed=\{'importance': values\}.*values\[:, None\]"):
        ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100), axes={"importance": importance})
    column = ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100),
                      axes={"importance": importance[:, None]})
    np.testing.assert_array_equal(column.grid_hyper().importance,
                                  np.repeat(importance[:, None], 5, axis=1))
    np.testing.assert_array_equal(column.axes[0].coords, importance)
    fixed = ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100),
                     fixed={"importance": importance})
    np.testing.assert_array_equal(fixed.base.importance, importance)
    # four values for five features is a plain scalar axis
    ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100), axes={"importance": importance[:4]})


def test_results_carry_the_sparsity_beside_the_density(tmp_path):
    sweep = ts.Sweep(ts.ModelConfig(3, 2), ts.TrainConfig(steps=100, log_every=50),
                     axes={"feature_probability": [1.0, 0.5, 0.25, 0.01]})
    for ds in (ts.run_sweep(sweep, out=tmp_path, progress=False).dataset,
               ts.load(tmp_path).dataset):
        np.testing.assert_allclose(ds["sparsity"].values, [0.0, 0.5, 0.75, 0.99], rtol=1e-6)
        assert ds["sparsity"].dims == ("feature_probability",)


def test_more_hidden_dimensions_than_features_is_noted():
    with pytest.warns(UserWarning, match="n_hidden=6 > n_features=3"):
        ts.ModelConfig(3, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ts.ModelConfig(3, 6, "abs_mlp")  # two neurons per feature, as TMS 9 intends
