"""The reproduction report: REPORT.md and REPORT.html from the experiments' metrics, the summary
first, measured values as a reader writes them (0.001, not 0.0010000000474974513)."""

from __future__ import annotations

import datetime
import html
import re

from toysuper.experiments.base import VERDICTS

LIST_HEAD, LIST_TAIL = 4, 2  # a list longer than HEAD + TAIL + 1 shows these ends


def readable(value) -> str:
    """A measured value (as in metrics.json) for a reader: numbers to 4 significant digits,
    long lists shortened with their length, mappings as {name: value, ...} without quotes."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "none"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {readable(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        items = [readable(v) for v in value]
        if len(items) > LIST_HEAD + LIST_TAIL + 1:
            items = [*items[:LIST_HEAD], "...", *items[-LIST_TAIL:]]
            return "[" + ", ".join(items) + f"] ({len(value)} values)"
        return "[" + ", ".join(items) + "]"
    return str(value)


def cell(text) -> str:
    """Text safe inside a Markdown table cell (||W|| and the like escaped)."""
    return str(text).replace("|", "\\|")


def claim_row(c: dict) -> list[str]:
    """Statement, paper, measured, PASS or **FAIL**, and the verdict (with the evidence of a
    faithful setup, if any) of one claim."""
    verdict = c.get("verdict", "") + (f": {c['evidence']}" if c.get("evidence") else "")
    return [c["statement"], c["paper"], f"`{readable(c['measured'])}`",
            "PASS" if c["passed"] else "**FAIL**", verdict]


CLAIM_HEADER = ["claim", "paper", "measured", "result", "verdict"]


def claims_table(claims: list[dict]) -> list[str]:
    """The lines of a Markdown table of claims (as in metrics.json)."""
    return markdown_table(CLAIM_HEADER, [claim_row(c) for c in claims])


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(map(cell, header)) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(map(cell, row)) + " |" for row in rows)]


def verdict_counts(claims: list[dict]) -> str:
    verdicts = [c.get("verdict", "") for c in claims]
    return ", ".join(f"{verdicts.count(v)} {v}" for v in VERDICTS if verdicts.count(v))


def blocks(reports: list[dict], fidelity: str, seconds: float, hardware: str,
           versions: dict[str, str]) -> list[tuple]:
    """The report as blocks: ("h1"|"h2"|"p", text), ("img", alt, src), ("table", header, rows);
    text may hold **bold** and `code`."""
    claims = [c for r in reports for c in r["claims"]]
    passed = sum(c["passed"] for c in claims)
    out = [("h1", "toysuper reproduction report"),
           ("p", f"**{passed} of {len(claims)} claims passed** at {fidelity} fidelity "
                 f"({verdict_counts(claims)}); {len(reports)} experiments in {seconds:.0f} s on "
                 f"{hardware}, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC."),
           ("table", ["experiment", "paper", "claims passed", "verdicts"],
            [[r["experiment"], r["section"], f"{sum(c['passed'] for c in r['claims'])} of "
              f"{len(r['claims'])}", verdict_counts(r["claims"])] for r in reports])]
    failed = [f"{r['experiment']}: {c['name']}" for r in reports for c in r["claims"]
              if not c["passed"]]
    if failed:
        out.append(("p", "Failed: " + "; ".join(failed) + "."))
    out.append(("p", "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."))
    for r in reports:
        out += [("h2", f"{r['experiment']} ({r['section']})"),
                ("p", f"{r['n_models']:,} models x {r['steps']:,} steps, trained in "
                      f"{r['train_seconds']:.0f} s{' (reused)' if r['reused_result'] else ''}; "
                      f"{r['n_diverged']} diverged; config `{r['config_hash']}`.")]
        if r["choices"]:
            out.append(("p", f"Values chosen where the paper is silent: {r['choices']}."))
        out += [("img", stem, f"{r['experiment']}/{png}") for stem, png in r["figures"].items()]
        out.append(("table", CLAIM_HEADER, [claim_row(c) for c in r["claims"]]))
    return out


def to_markdown(report: list[tuple]) -> str:
    lines = []
    for block in report:
        kind = block[0]
        if kind in ("h1", "h2"):
            lines += [f"{'#' * int(kind[1])} {block[1]}", ""]
        elif kind == "p":
            lines += [block[1], ""]
        elif kind == "img":
            lines.append(f"![{block[1]}]({block[2]})")
        else:
            lines += ["", *markdown_table(block[1], block[2]), ""]
    return "\n".join(lines).rstrip() + "\n"


def inline_html(text: str) -> str:
    """Escaped text with **bold** and `code` as HTML."""
    text = html.escape(str(text))
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


STYLE = ("body{font-family:sans-serif;max-width:70em;margin:2em auto;line-height:1.4}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
         "padding:.3em .5em;vertical-align:top;text-align:left}img{max-width:100%}"
         "code{font-size:90%}")


def to_html(report: list[tuple]) -> str:
    parts = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
             f"<title>{html.escape(report[0][1])}</title><style>{STYLE}</style></head><body>"]
    for block in report:
        kind = block[0]
        if kind in ("h1", "h2", "p"):
            parts.append(f"<{kind}>{inline_html(block[1])}</{kind}>")
        elif kind == "img":
            parts.append(f"<img alt='{html.escape(block[1])}' src='{html.escape(block[2])}'>")
        else:
            head = "".join(f"<th>{inline_html(h)}</th>" for h in block[1])
            rows = "".join("<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in row)
                           + "</tr>" for row in block[2])
            parts.append(f"<table><tr>{head}</tr>{rows}</table>")
    return "\n".join([*parts, "</body></html>"]) + "\n"
