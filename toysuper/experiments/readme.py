"""The README's status and claims tables, generated from the metrics.json of a reproduction.

A README holds generated blocks between markers; `update_readme` rewrites what lies between them
and leaves everything else as written:

    <!-- toysuper:status -->             one row per experiment: section, claims passed, verdicts
    <!-- /toysuper:status -->
    <!-- toysuper:claims NAME -->        the claims table of experiment NAME
    <!-- /toysuper:claims NAME -->

`toysuper readme --results DIR` runs it on README.md after `toysuper reproduce --out DIR`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from toysuper.experiments import REGISTRY
from toysuper.experiments.base import VERDICTS
from toysuper.experiments.report import cell, readable
from toysuper.results import atomic_write_bytes

STATUS = "status"


def read_reports(results: Path) -> dict[str, dict]:
    """metrics.json of every registered experiment found in results/NAME."""
    reports = {}
    for name in REGISTRY:
        path = Path(results) / name / "metrics.json"
        if path.exists():
            reports[name] = json.loads(path.read_text())
    return reports


def status_lines(reports: dict[str, dict]) -> list[str]:
    """The status table: per experiment, its section, fidelity, claims passed and verdicts."""
    lines = ["| name | paper | fidelity | claims passed | verdicts |", "|---|---|---|---|---|"]
    for name, experiment in REGISTRY.items():
        r = reports.get(name)
        if r is None:
            lines.append(f"| `{name}` | {experiment.section} | not run | | |")
            continue
        claims = r["claims"]
        verdicts = [c.get("verdict", "") for c in claims]
        counts = ", ".join(f"{verdicts.count(v)} {v}" for v in VERDICTS if verdicts.count(v))
        lines.append(f"| `{name}` | {r['section']} | {r['fidelity']} | "
                     f"{sum(c['passed'] for c in claims)} of {len(claims)} | {counts} |")
    return lines


def claims_lines(report: dict) -> list[str]:
    """One experiment's claims: the paper's statement, the criterion, what was measured (as
    `readable` writes it), and the verdict."""
    lines = [f"*{report['fidelity']} fidelity, {report['n_models']} models, config "
             f"{report['config_hash']}*", "",
             "| claim | criterion | measured | verdict |", "|---|---|---|---|"]
    for c in report["claims"]:
        measured = readable(c["measured"])
        verdict = ("PASS" if c["passed"] else "**FAIL**") + f": {c.get('verdict', '')}"
        if c.get("evidence"):
            verdict += f" ({c['evidence']})"
        lines.append(f"| {cell(c['statement'])} | {cell(c['paper'])} | `{cell(measured)}` | "
                     f"{cell(verdict)} |")
    return lines


def replace_block(text: str, key: str, lines: list[str]) -> str:
    """`text` with the lines between <!-- toysuper:KEY --> and <!-- /toysuper:KEY --> replaced."""
    start, end = f"<!-- toysuper:{key} -->", f"<!-- /toysuper:{key} -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    return pattern.sub(lambda _: "\n".join([start, *lines, end]), text)


def update_readme(readme: str | Path, results: str | Path) -> list[str]:
    """Rewrite the generated blocks of `readme` from the metrics in `results`; return the keys
    of the blocks rewritten (a claims block of an experiment not in `results` is left as is).

    Raises:
      ValueError: `results` holds no experiment's metrics.json.
    """
    readme = Path(readme)
    text = readme.read_text()
    reports = read_reports(Path(results))
    if not reports:
        raise ValueError(f"results={str(results)!r} holds no experiment's metrics.json: give "
                         "the --out directory of `toysuper reproduce`")
    rewritten = []
    for key in re.findall(r"<!-- toysuper:(.+?) -->", text):
        if key == STATUS:
            text = replace_block(text, key, status_lines(reports))
        elif key.startswith("claims ") and key.split(" ", 1)[1] in reports:
            text = replace_block(text, key, claims_lines(reports[key.split(" ", 1)[1]]))
        else:
            continue
        rewritten.append(key)
    atomic_write_bytes(readme, text.encode())
    return rewritten
