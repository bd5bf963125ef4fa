"""Clusters of feature dimensionality at the fractions of uniform polytopes (TMS section 5).

A feature in a uniform polytope has a dimensionality D_i that is a simple fraction (1 dedicated,
3/4 tetrahedron, 2/3 triangle, 1/2 antipodal pair, 2/5 pentagon, 3/8 square antiprism). A
cluster is a window around one fraction that holds many represented features, enriched against
windows of the same width beside it.
"""

from __future__ import annotations

import numpy as np

FRACTIONS = {"1": 1.0, "3/4": 3 / 4, "2/3": 2 / 3, "1/2": 1 / 2, "2/5": 2 / 5, "3/8": 3 / 8}
BAND = 0.005  # half-width of the window around each fraction
SIDE_OFFSET = 0.0125  # side windows centred this far away: they never reach a neighbour's window
ENRICHED = 2.0  # a cluster: at least this many times the mean count of the two side windows
MIN_CLUSTER = 10  # and at least this many represented features in the window


def enrichment(D: np.ndarray, fraction: float, band: float = BAND,
               offset: float = SIDE_OFFSET) -> dict:
    """Represented features within `band` of `fraction` against the mean count in two windows
    of the same width centred `offset` below and above (only below for 1, since D_i <= 1).

    With band 0.005 and offset 0.0125 no side window reaches the centre window of another
    fraction (the closest pair, 3/8 and 2/5, are 0.025 apart), so one cluster is never counted
    as the background of its neighbour. Enrichment is None when the side windows are empty.
    """
    centre = int(np.sum(np.abs(D - fraction) < band))
    offsets = (-offset,) if fraction >= 1 else (-offset, offset)
    sides = [int(np.sum(np.abs(D - fraction - o) < band)) for o in offsets]
    side = sum(sides) / len(sides)
    return {"centre": centre, "side": float(np.round(side, 1)),
            "enrichment": float(np.round(centre / side, 2)) if side else None}


def is_cluster(counts: dict) -> bool:
    """At least MIN_CLUSTER features in the window, and ENRICHED times the side windows."""
    return counts["centre"] >= MIN_CLUSTER and (counts["enrichment"] is None
                                                or counts["enrichment"] >= ENRICHED)
