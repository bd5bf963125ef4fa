"""The polytope theory of uniform superposition against quadrature and closed forms."""

import jax.numpy as jnp
import numpy as np
import pytest

from toysuper.analysis.polytope_losses import (
    POLYTOPES,
    best_polytope,
    feature_loss,
    optimal_feature_loss,
    unrepresented_loss,
)
from toysuper.models import TiedParams
from toysuper.objectives.population import population_loss


@pytest.mark.parametrize("name", ["digon", "triangle", "tetrahedron"])
@pytest.mark.parametrize("p, scale, bias", [(0.5, 1.0, 0.0), (0.2, 1.2, -0.1)])
def test_monte_carlo_loss_equals_the_quadrature(name, p, scale, bias):
    """One feature's Monte Carlo loss is the exact population loss of the whole polytope over
    its k features (all features alike), to within the sampling error."""
    directions, _ = POLYTOPES[name]
    k = len(directions)
    params = TiedParams(jnp.asarray(np.sqrt(scale) * directions, jnp.float32),
                        jnp.full(k, bias, jnp.float32))
    exact = float(population_loss(params, jnp.full(k, p), jnp.ones(k), resolution=24)) / k
    assert feature_loss(name, p, scale, bias) == pytest.approx(exact, rel=0.01)


def test_closed_forms():
    # a dedicated feature reconstructs exactly; a dense digon at r = 1, b = 0 errs by the
    # smaller of its two values: E[min(x1, x2)^2] = 1/6
    assert optimal_feature_loss("dedicated", 0.3)["loss"] == pytest.approx(0, abs=1e-6)
    assert feature_loss("digon", 1.0, 1.0, 0.0) == pytest.approx(1 / 6, rel=0.005)
    assert unrepresented_loss(1.0) == pytest.approx(1 / 12)


def test_optimum_is_no_worse_than_the_plain_polytope():
    for name in ("digon", "pentagon"):
        best = optimal_feature_loss(name, 0.1)
        assert best["loss"] <= feature_loss(name, 0.1, 1.0, 0.0) + 1e-7
    # a pentagon's neighbours interfere positively: a negative bias filters them (TMS 3)
    assert optimal_feature_loss("pentagon", 0.1)["bias"] < 0


def test_which_polytope_wins_moves_with_sparsity():
    """Antipodal pairs win on the paper's sticky 1/2 plateau (1/(1-S) = 2.5); when sparser,
    polytopes of more features per dimension beat them."""
    assert best_polytope(1 / 2.5)[0] == "digon"
    winner, gains = best_polytope(1 / 10)
    assert gains[winner] > gains["digon"] and winner in ("pentagon", "square antiprism")
