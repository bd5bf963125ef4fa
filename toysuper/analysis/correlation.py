"""Geometry of correlated and anticorrelated feature sets (TMS section 6).

The paper's findings, in the quantities below: correlated features prefer orthogonal directions
(within-set cosine near 0), anticorrelated ones antipodal directions (near -1); sets of
correlated features that cannot all be orthogonal sit side by side (small positive cosines) or
collapse onto their principal component (a + b)/sqrt 2 (cosine near 1, each at about half the
norm); sets of many correlated features form local orthogonal bases, in superposition with
other sets.

W has shape (n_features, n_hidden), row W_i = feature i's direction; a set is a list of feature
indices (`toysuper.data.FeatureSets.groups`).
"""

import numpy as np

from toysuper.analysis.polytopes import cosines

COLLAPSE_COS = 0.9  # members of a collapsed set point the same way
COLLAPSE_MIN_NORM = 0.25  # ... and are both kept (about 1/sqrt 2 each on the principal component)


def within_cosines(W: np.ndarray, members: list[int]) -> np.ndarray:
    """Cosines between every pair of a set's members, shape (pairs,)."""
    cos = cosines(np.asarray(W))
    i, j = np.triu_indices(len(members), 1)
    return cos[np.asarray(members)[i], np.asarray(members)[j]]


def across_cosines(W: np.ndarray, sets: list[list[int]]) -> np.ndarray:
    """Cosines between members of different sets, shape (pairs,)."""
    cos = cosines(np.asarray(W))
    label = np.full(len(W), -1)
    for k, members in enumerate(sets):
        label[members] = k
    i, j = np.triu_indices(len(W), 1)
    other = (label[i] != label[j]) & (label[i] >= 0) & (label[j] >= 0)
    return cos[i[other], j[other]]


def is_collapsed(W: np.ndarray, members: list[int]) -> bool:
    """Whether a set has collapsed onto one direction: all its members kept (norm above
    `COLLAPSE_MIN_NORM`) and pairwise cosines above `COLLAPSE_COS`."""
    norms = np.linalg.norm(np.asarray(W)[members], axis=-1)
    return bool(np.all(norms > COLLAPSE_MIN_NORM)
                and np.all(within_cosines(W, members) > COLLAPSE_COS))


def collapsed_count(W: np.ndarray, sets: list[list[int]]) -> int:
    """How many of the sets have collapsed onto their principal component."""
    return sum(is_collapsed(W, members) for members in sets)
