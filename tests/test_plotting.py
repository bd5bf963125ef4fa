"""The paper's figures drawn for a user's own sweep: plotting functions take a sweep's Dataset
(dims feature_probability, feature, hidden) and a title, and draw what they draw from the
experiments' own data."""

import numpy as np
from shapes import regular_polygon

import toysuper as ts
from toysuper.analysis.summaries import dimensionality_summary, sparsity_summary
from toysuper.experiments.base import constructed
from toysuper.plotting.geometry import plot_dimensionality
from toysuper.plotting.intro import plot_intro
from toysuper.plotting.sparsity import plot_sparsity_sweep


def pentagon_sweep() -> ts.Result:
    """A never-trained Result: at the dense point two orthogonal features and three dropped, at
    the sparse point a pentagon."""
    sweep = ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100),
                     axes={"feature_probability": [1.0, 0.05]},
                     fixed={"importance": ts.decaying_importance(5, 0.9)})
    dense = np.zeros((5, 2), np.float32)
    dense[:2] = np.eye(2)
    W = np.stack([dense, regular_polygon(5).astype(np.float32)])
    return constructed(sweep, {"W": W, "b": np.zeros((2, 5), np.float32)})


def test_figures_take_a_sweeps_dataset_and_a_title():
    ds = pentagon_sweep().dataset
    fig = plot_sparsity_sweep({"mine": ds}, 5, 2, title="my sweep")
    assert fig._suptitle.get_text() == "my sweep" and len(fig.axes) == 2 * 2 + 2
    row = sparsity_summary(ds)
    np.testing.assert_allclose(row["superposition"][0], [0, 0, 0, 0, 0], atol=1e-6)
    assert np.all(row["superposition"][1] > 0.5)  # a pentagon: every feature interferes
    column = dimensionality_summary(ds)
    np.testing.assert_allclose(column["D"][1], 2 / 5, rtol=1e-5)
    np.testing.assert_allclose(column["dstar"], [1.0, 2 / 5], rtol=1e-5)
    assert column["labels"][1] == ["pentagon"] * 5
    fig = plot_dimensionality({"n5, m2": ds}, title="mine")
    assert fig._suptitle.get_text() == "mine"
    assert plot_intro(ds, title="t")._suptitle.get_text() == "t"
