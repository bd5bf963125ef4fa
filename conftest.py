"""Session-wide test setup, for the tests and the notebooks alike.

Tests that run a whole experiment at quick fidelity write it under $TOYSUPER_RESULTS, and the
notebooks (executed later in the same session by nbmake) read their results from there, so each
quick experiment trains once per session. The directory is fresh for every session: nothing
from an earlier run or an older version of the code is ever reused.

With pytest-xdist the workers inherit the directory from the controller, and a notebook runs on
the same worker as, and after, the tests whose results it reads (an `xdist_group` per pair).
"""

import os
import tempfile

import pytest

NOISE = "tests/test_null_models.py::test_every_claim_fails_on_noise"
SHARED = {  # xdist group -> node id prefixes of the tests that write results and their notebook
    "intro": ("tests/test_intro.py::test_intro_claims_quick", f"{NOISE}[intro]",
              "notebooks/01_intro.ipynb"),
    "phase": ("tests/test_phase.py::test_phase_claims_quick", f"{NOISE}[phase_",
              "notebooks/03_phase_diagrams.ipynb"),
}


def pytest_configure(config):
    if "PYTEST_XDIST_WORKER" not in os.environ:  # the controller, or a run without xdist
        os.environ["TOYSUPER_RESULTS"] = tempfile.mkdtemp(prefix="toysuper-test-results-")


def pytest_itemcollected(item):
    """Mark each item of a SHARED group as it is collected, before any collection hook (xdist
    reads the groups into the node ids in its own pytest_collection_modifyitems)."""
    for group, prefixes in SHARED.items():
        if item.nodeid.startswith(prefixes):
            item.add_marker(pytest.mark.xdist_group(group))
