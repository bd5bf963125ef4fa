"""Exact polytopes and how to place them in a hidden space, for the geometry tests."""

import numpy as np
from scipy.stats import special_ortho_group


def regular_polygon(k: int) -> np.ndarray:
    """Regular k-gon of unit vectors in the plane, (k, 2)."""
    angle = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(angle), np.sin(angle)], -1)


def tetrahedron() -> np.ndarray:
    return np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)


def square_antiprism() -> np.ndarray:
    """Two squares turned 45 degrees apart at heights +-1/sqrt(3): a tight frame, D_i = 3/8."""
    angle = np.pi / 2 * np.arange(4)
    top = np.stack([np.cos(angle), np.sin(angle), np.full(4, 1 / np.sqrt(2))], -1)
    bottom = np.stack([np.cos(angle + np.pi / 4), np.sin(angle + np.pi / 4),
                       np.full(4, -1 / np.sqrt(2))], -1)
    return np.concatenate([top, bottom]) * np.sqrt(2 / 3)


def direct_sum(*blocks: np.ndarray) -> np.ndarray:
    """Place each block (k_i, m_i) in its own hidden dimensions: (sum k_i, sum m_i)."""
    W = np.zeros((sum(len(b) for b in blocks), sum(b.shape[1] for b in blocks)))
    row = col = 0
    for b in blocks:
        W[row:row + len(b), col:col + b.shape[1]] = b
        row, col = row + len(b), col + b.shape[1]
    return W


def embed(W: np.ndarray, m: int, seed: int) -> np.ndarray:
    """W (k, m0) padded to m dimensions and randomly rotated: same geometry, generic axes."""
    padded = np.pad(W, ((0, 0), (0, m - W.shape[1])))
    return padded @ special_ortho_group.rvs(m, random_state=seed)
