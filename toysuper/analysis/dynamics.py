"""Discrete jumps in a feature's dimensionality over training (TMS section 7, "learning
dynamics": D_i moves between "energy levels" such as 1, 1/2, 2/5 in sudden steps).

A trajectory D_i(t) sampled at snapshot steps is fitted by the best piecewise-constant function
(least squares with a penalty per segment, solved exactly by dynamic programming); neighbouring
levels closer than `min_jump` are merged; short segments between long ones are the passage from
one level to the next; two consecutive levels make a jump when the change between them is large
against the drift within them (a steady ramp is not a jump).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

MIN_JUMP = 0.08  # smallest change of dimensionality counted as a jump
MIN_LEN = 3  # fewest snapshots on a level
SHARPNESS = 0.5  # a jump exceeds the drift within its two levels by 1 / SHARPNESS


@dataclasses.dataclass(frozen=True)
class Jump:
    """One jump of one feature's dimensionality.

    Attributes:
      feature: the feature's index.
      step: the first snapshot step on the new level.
      before, after: the mean dimensionality on the levels either side.
    """

    feature: int
    step: int
    before: float
    after: float


def segment_levels(values: np.ndarray, penalty: float, min_len: int = MIN_LEN) -> list[int]:
    """Start indices of the segments of the least-squares piecewise-constant fit of `values`
    with `penalty` added per segment and at least `min_len` points per segment (first start 0)."""
    x = np.asarray(values, np.float64)
    t = len(x)
    if t < 2 * min_len:
        return [0]
    s1, s2 = np.concatenate([[0], np.cumsum(x)]), np.concatenate([[0], np.cumsum(x**2)])

    def cost(i, j):  # sum of squared deviations of x[i:j] from its mean
        return s2[j] - s2[i] - (s1[j] - s1[i]) ** 2 / (j - i)

    best = np.full(t + 1, np.inf)
    best[0] = 0.0
    start = np.zeros(t + 1, int)
    for j in range(min_len, t + 1):
        for i in range(0, j - min_len + 1):
            c = best[i] + cost(i, j) + penalty  # inf where x[:i] cannot be segmented
            if c < best[j]:
                best[j], start[j] = c, i
    starts, j = [], t
    while j > 0:
        starts.append(start[j])
        j = start[j]
    return sorted(starts)


def merge_close(values: np.ndarray, starts: list[int], min_jump: float) -> list[int]:
    """Drop boundaries between neighbouring segments whose means differ by less than
    `min_jump`, closest pair first."""
    starts = list(starts)
    while len(starts) > 1:
        bounds = [*starts, len(values)]
        means = [np.mean(values[a:b]) for a, b in itertools.pairwise(bounds)]
        gaps = np.abs(np.diff(means))
        k = int(np.argmin(gaps))
        if gaps[k] >= min_jump:
            break
        del starts[k + 1]
    return starts


def drift(x: np.ndarray) -> float:
    """|mean of the second half - mean of the first half|: how far a level is from flat."""
    half = len(x) // 2
    return float(abs(np.mean(x[len(x) - half:]) - np.mean(x[:half]))) if half else 0.0


def detect_jumps(steps: np.ndarray, values: np.ndarray, feature: int = 0,
                 min_jump: float = MIN_JUMP, min_len: int = MIN_LEN) -> list[Jump]:
    """The jumps of one trajectory.

    Segments of at least 2 `min_len` snapshots are levels; shorter ones between them are the
    passage from one level to the next. Two consecutive levels make a jump when their means
    differ by at least `min_jump` and by more than `1 / SHARPNESS` times the drift within the
    two levels (so a steady ramp, cut into stairs by the fit, gives no jump).

    Args:
      steps: (snapshots,) training steps, increasing (log-spaced in the dynamics experiment).
      values: (snapshots,) the feature's dimensionality at those steps.
      feature: the index recorded in each `Jump`.
      min_jump: the smallest level change that counts.
      min_len: the fewest snapshots in a fitted segment.

    Returns:
      The jumps in order of step; `step` is the first snapshot past the midpoint of the change.
    """
    x = np.asarray(values, np.float64)
    penalty = min_len * (min_jump / 2) ** 2
    starts = merge_close(x, segment_levels(x, penalty, min_len), min_jump)
    bounds = [*starts, len(x)]
    levels = [(a, b) for a, b in itertools.pairwise(bounds) if b - a >= 2 * min_len]
    jumps = []
    for (a0, b0), (a1, b1) in itertools.pairwise(levels):
        before, after = float(np.mean(x[a0:b0])), float(np.mean(x[a1:b1]))
        change = after - before
        if abs(change) < min_jump or abs(change) * SHARPNESS < drift(x[a0:b0]) + drift(x[a1:b1]):
            continue
        past = np.flatnonzero((x[b0:a1 + 1] - before) * np.sign(change) > abs(change) / 2)
        jumps.append(Jump(feature, int(steps[b0 + past[0] if len(past) else a1]), before, after))
    return jumps


def all_jumps(steps: np.ndarray, D: np.ndarray, **kwargs) -> list[Jump]:
    """`detect_jumps` for every feature of D (snapshots, features), ordered by step."""
    found = [j for i in range(D.shape[-1]) for j in detect_jumps(steps, D[:, i], i, **kwargs)]
    return sorted(found, key=lambda j: (j.step, j.feature))
