"""Learning threshold: the intro experiment's three paper claims at quick and paper fidelity."""

import pytest

from toysuper.experiments.runner import run_experiment


def test_intro_claims_quick(shared_results):
    report = run_experiment("intro", "quick", out=shared_results / "intro", progress=False)
    failed = [c for c in report["claims"] if not c["passed"]]
    assert not failed, failed


@pytest.mark.slow
def test_intro_claims_paper(tmp_path):
    report = run_experiment("intro", "paper", out=tmp_path, progress=False)
    failed = [c for c in report["claims"] if not c["passed"]]
    assert not failed, failed
