"""Universality across seeds: do independently trained models find the same solution?

Two tied models x' = act(x W W^T + b) compute the same function when their weights differ by an
orthogonal map of the hidden space (a rotation or a reflection, signs included): W -> W R leaves
the Gram matrix G = W W^T unchanged. Features of equal importance can also swap roles. So two
solutions are the same geometry when

    d(W_a, W_b) = min_P || G_a - P G_b P^T ||_F / max(||G_a||_F, ||G_b||_F)

is small, with P over the permutations within groups of equal importance (none for distinct
importances, all n! for uniform importance). Seeds are grouped into classes of geometry
(`geometry_classes`), and the entropy of the class distribution says how universal training is:
0 bits when every seed finds the same solution.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
from jaxtyping import Array, Float

from toysuper.analysis.geometry import REPRESENTED_NORM
from toysuper.analysis.polytopes import polytope_counts
from toysuper.validate import require

SAME_GEOMETRY = 0.1  # relative Gram distance below which two models share a geometry
MAX_PERMUTATIONS = 50_000


def equal_importance_groups(importance: np.ndarray) -> list[list[int]]:
    """Indices of features that share an importance, in order of first appearance."""
    importance = np.asarray(importance)
    groups: dict[float, list[int]] = {}
    for i, value in enumerate(importance.tolist()):
        groups.setdefault(value, []).append(i)
    return list(groups.values())


def symmetric_permutations(importance: np.ndarray) -> np.ndarray:
    """Every permutation of the features that only swaps features of equal importance.

    Returns:
      (P, n) int array, each row a permutation (the identity first).
    """
    groups = equal_importance_groups(importance)
    count = math.prod(math.factorial(len(g)) for g in groups)
    require(count <= MAX_PERMUTATIONS, "importance", f"{len(importance)} features in groups of "
            f"{[len(g) for g in groups]}", f"at most {MAX_PERMUTATIONS} symmetric permutations "
            f"(this has {count}); use fewer equally important features")
    n = len(importance)
    rows = []
    for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
        perm = np.empty(n, int)
        for group, image in zip(groups, choice, strict=True):
            perm[group] = image
        rows.append(perm)
    return np.array(rows)


def gram_distance(W_a: Float[Array, "feature hidden"], W_b: Float[Array, "feature hidden"],
                  permutations: np.ndarray) -> float:
    """d(W_a, W_b): the relative Frobenius distance of the Gram matrices, minimised over
    `permutations` (P, n) of W_b's features; 0 for the same geometry up to rotation, sign and
    those permutations."""
    G_a = np.asarray(W_a, np.float64) @ np.asarray(W_a, np.float64).T
    G_b = np.asarray(W_b, np.float64) @ np.asarray(W_b, np.float64).T
    permuted = G_b[permutations[:, :, None], permutations[:, None, :]]  # (P, n, n)
    scale = max(np.linalg.norm(G_a), np.linalg.norm(G_b), 1e-12)
    return float(np.min(np.linalg.norm(permuted - G_a, axis=(-2, -1))) / scale)


def geometry_classes(W: Float[Array, "seed feature hidden"], importance: np.ndarray,
                     loss: np.ndarray | None = None,
                     tolerance: float = SAME_GEOMETRY) -> tuple[np.ndarray, list[int]]:
    """Group the models of one setting into classes of the same geometry.

    Models are visited from the lowest loss up (in order when `loss` is None); each joins the
    first class whose representative (its first member) is within `tolerance`, or founds a
    new class. Classes are numbered in order of their representative's loss, so class 0 holds
    the best model.

    Returns:
      (labels (seed,), representatives: the seed index of each class's first member).
    """
    W = np.asarray(W)
    permutations = symmetric_permutations(importance)
    order = np.argsort(loss, kind="stable") if loss is not None else np.arange(len(W))
    labels = np.full(len(W), -1)
    representatives: list[int] = []
    for s in order:
        for c, rep in enumerate(representatives):
            if gram_distance(W[rep], W[s], permutations) < tolerance:
                labels[s] = c
                break
        else:
            labels[s] = len(representatives)
            representatives.append(int(s))
    return labels, representatives


def entropy_bits(labels: np.ndarray) -> float:
    """Shannon entropy (bits) of the distribution of class labels; 0 when all are equal."""
    counts = np.array(list(Counter(np.asarray(labels).tolist()).values()), float)
    q = counts / counts.sum()
    return float(-np.sum(q * np.log2(q)) + 0.0)


def geometry_name(W: Float[Array, "feature hidden"]) -> str:
    """A readable name of one model's geometry: its polytopes with their counts and the number
    of features not learned, e.g. "pentagon", "2 x digon + 2 not learned"."""
    W = np.asarray(W)
    parts = [name if count == 1 else f"{count} x {name}"
             for name, count in sorted(polytope_counts(W).items())]
    dropped = int(np.sum(np.linalg.norm(W, axis=-1) <= REPRESENTED_NORM))
    return " + ".join(parts + ([f"{dropped} not learned"] if dropped else [])) or "nothing"
