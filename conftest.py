"""Session-wide test setup, for the tests and the notebooks alike.

Tests that run a whole experiment at quick fidelity write it under $TOYSUPER_RESULTS, and the
notebooks (executed later in the same session by nbmake) read their results from there, so each
quick experiment trains once per session. The directory is fresh for every session: nothing
from an earlier run or an older version of the code is ever reused.
"""

import os
import tempfile


def pytest_configure(config):
    os.environ["TOYSUPER_RESULTS"] = tempfile.mkdtemp(prefix="toysuper-test-results-")
