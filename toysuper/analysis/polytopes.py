"""Which polytopes the features of a tied model form (TMS section 5, "The geometry of
superposition").

Features that interfere strongly are grouped: connected components of the graph with an edge
where the cosine |Ŵ_i . Ŵ_j| is above `GROUP_COS`. Each group is named from its size k, its rank
r (the number of hidden dimensions it spans) and its feature dimensionalities D_i = r / k:

    dedicated (1, 1, 1)     digon (2, 1, 1/2)        triangle (3, 2, 2/3)    tetrahedron (4, 3, 3/4)
    pentagon (5, 2, 2/5)    square antiprism (8, 3, 3/8)    k-gon (k, 2, 2/k) for other k >= 4

A set of features is a tegum product when it splits into mutually orthogonal sub-polytopes: the
graph of strong interference is disconnected and the parts' ranks add up to the set's rank (they
span orthogonal subspaces, not just nearly orthogonal features). `name_group` names any set of
features this way, e.g. a triangular bipyramid (triangle x digon: 3 features at D = 2/3 and 2 at
1/2) or an octahedron (digon x digon x digon).

Works on one model's W (n_features, n_hidden) in numpy; loop over sweep axes outside.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from toysuper.analysis.geometry import REPRESENTED_NORM

GROUP_COS = 0.2  # |cos| above which two features belong to the same polytope
RANK_TOL = 0.1  # singular values below this fraction of the largest do not count towards rank
D_TOL = 0.06  # |D_i - r/k| allowed for a uniform polytope

UNIFORM_POLYTOPES = {  # (features k, rank r) -> name; each feature has D = r / k
    (1, 1): "dedicated",
    (2, 1): "digon",
    (3, 2): "triangle",
    (4, 3): "tetrahedron",
    (5, 2): "pentagon",
    (8, 3): "square antiprism",
}
TEGUM_NAMES = {  # sorted factor names -> the polytope's usual name
    ("digon", "digon"): "square",
    ("digon", "digon", "digon"): "octahedron",
    ("digon", "triangle"): "triangular bipyramid",
    ("digon", "pentagon"): "pentagonal bipyramid",
}
NOT_LEARNED, UNKNOWN = "not learned", "unknown"


@dataclasses.dataclass(frozen=True)
class Polytope:
    """One group of features.

    Attributes:
      features: indices of the group's features.
      rank: hidden dimensions the group spans.
      name: "dedicated", "digon", ..., "k-gon" or "unknown".
    """

    features: tuple[int, ...]
    rank: int
    name: str


def cosines(W: np.ndarray) -> np.ndarray:
    """(n, n) cosine similarities Ŵ_i . Ŵ_j; rows with W_i = 0 give 0."""
    W = np.asarray(W, np.float64)
    norms = np.linalg.norm(W, axis=-1, keepdims=True)
    unit = W / np.where(norms > 0, norms, 1)
    return unit @ unit.T


def components(adjacency: np.ndarray, nodes: list[int]) -> list[list[int]]:
    """Connected components (sorted lists of node indices) of `adjacency` restricted to `nodes`."""
    remaining, groups = set(nodes), []
    for start in nodes:
        if start not in remaining:
            continue
        group, frontier = [], [start]
        remaining.discard(start)
        while frontier:
            i = frontier.pop()
            group.append(i)
            linked = [j for j in remaining if adjacency[i, j]]
            remaining.difference_update(linked)
            frontier += linked
        groups.append(sorted(group))
    return groups


def rank(W: np.ndarray, tol: float = RANK_TOL) -> int:
    """Numerical rank of the rows of W (k, m): singular values above tol x the largest."""
    s = np.linalg.svd(np.asarray(W, np.float64), compute_uv=False)
    return int(np.sum(s > tol * s[0])) if len(s) and s[0] > 0 else 0


def dimensionalities(W: np.ndarray) -> np.ndarray:
    """D_i of each row of W (k, m) computed within the group (as `feature_dimensionality`)."""
    gram = np.asarray(W, np.float64) @ np.asarray(W, np.float64).T
    return np.diag(gram) ** 2 / np.maximum(np.sum(gram**2, -1), 1e-30)


def name_uniform(W: np.ndarray) -> str:
    """The name of an irreducible group W (k, m) from (k, rank, D_i)."""
    k, r = len(W), rank(W)
    if np.any(np.abs(dimensionalities(W) - r / k) > D_TOL):
        return UNKNOWN
    if (k, r) in UNIFORM_POLYTOPES:
        return UNIFORM_POLYTOPES[(k, r)]
    return f"{k}-gon" if r == 2 and k >= 4 else UNKNOWN


def tegum_factors(W: np.ndarray, group_cos: float = GROUP_COS) -> list[list[int]]:
    """Split a set of features W (k, m) into mutually orthogonal parts, or return it whole.

    Parts are the connected components of |cos| > group_cos; they form a tegum product when
    their ranks add up to the set's rank (the parts span orthogonal subspaces).
    """
    parts = components(np.abs(cosines(W)) > group_cos, list(range(len(W))))
    if len(parts) > 1 and sum(rank(W[p]) for p in parts) == rank(W):
        return parts
    return [list(range(len(W)))]


def name_group(W: np.ndarray) -> str:
    """The name of the polytope that the rows of W (k, m) form, tegum products included
    (e.g. "triangular bipyramid", or "pentagon x triangle" where no usual name exists)."""
    parts = tegum_factors(W)
    if len(parts) == 1:
        return name_uniform(W)
    factors = tuple(sorted(name_uniform(W[p]) for p in parts))
    return TEGUM_NAMES.get(factors, " x ".join(factors))


def polytopes(W: np.ndarray, threshold: float = REPRESENTED_NORM,
              group_cos: float = GROUP_COS) -> list[Polytope]:
    """The polytopes of one model W (n, m): groups of strongly interfering represented features,
    each named. Features with ||W_i|| <= threshold are left out (see `label_features`)."""
    W = np.asarray(W, np.float64)
    rep = [i for i in range(len(W)) if np.linalg.norm(W[i]) > threshold]
    return [Polytope(tuple(group), rank(W[group]), name_uniform(W[group]))
            for group in components(np.abs(cosines(W)) > group_cos, rep)]


def feature_labels(groups: list[Polytope], n_features: int) -> list[str]:
    """Per feature, the name of its polytope among `groups` ("not learned" if in none)."""
    labels = [NOT_LEARNED] * n_features
    for poly in groups:
        for i in poly.features:
            labels[i] = poly.name
    return labels


def label_features(W: np.ndarray, threshold: float = REPRESENTED_NORM) -> list[str]:
    """Per feature of one model W (n, m), the name of the polytope it belongs to ("not learned"
    if unrepresented)."""
    return feature_labels(polytopes(W, threshold), len(W))


def polytope_counts(W: np.ndarray, threshold: float = REPRESENTED_NORM) -> dict[str, int]:
    """How many groups of each name one model W (n, m) has."""
    return dict(Counter(p.name for p in polytopes(W, threshold)))
