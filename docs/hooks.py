"""MkDocs hook: the pages that come from the code, built at every docs build so they never go
stale: one page per experiment (its paper section, description, choices, sizes per fidelity,
figures and the claims table the README holds) and the API reference of the public modules."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
API_MODULES = [
    "toysuper", "toysuper.sweep", "toysuper.run", "toysuper.launch", "toysuper.results",
    "toysuper.config", "toysuper.hyper", "toysuper.models", "toysuper.objectives",
    "toysuper.objectives.base",
    "toysuper.objectives.sampled", "toysuper.objectives.adversarial",
    "toysuper.objectives.fixed_dataset", "toysuper.objectives.population",
    "toysuper.objectives.one_hot", "toysuper.objectives.sparse_autoencoder", "toysuper.training",
    "toysuper.engine", "toysuper.evaluation", "toysuper.data", "toysuper.generators",
    "toysuper.sae", "toysuper.attacks",
    "toysuper.analysis.geometry", "toysuper.analysis.polytopes", "toysuper.analysis.phase",
    "toysuper.analysis.neurons", "toysuper.analysis.memorization", "toysuper.analysis.onehot",
    "toysuper.analysis.universality", "toysuper.analysis.dictionary",
    "toysuper.analysis.polytope_losses", "toysuper.experiments.base",
    "toysuper.experiments.runner", "toysuper.experiments.report",
]


def claims_block(name: str) -> str:
    """The README's generated claims table of experiment `name` (from a reproduction)."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- toysuper:claims {re.escape(name)} -->\n(.*?)<!-- /toysuper:claims",
                      readme, re.S)
    return found.group(1).strip() if found else "*Not in the README's generated tables yet.*"


def figures_of(name: str) -> dict[str, list[str]]:
    """fidelity -> the committed figures of experiment `name` (by their sidecars)."""
    out: dict[str, list[str]] = {}
    for sidecar in sorted((ROOT / "figures").glob("*.json")):
        meta = json.loads(sidecar.read_text())
        if meta.get("experiment") == name:
            out.setdefault(meta["fidelity"], []).append(sidecar.with_suffix(".png").name)
    return out


def experiment_page(name: str, experiment) -> str:
    lines = [f"# {name} ({experiment.section})", "", experiment.description[0].upper()
             + experiment.description[1:] + ".", ""]
    if experiment.extension:
        lines += ["An experiment beyond the two papers.", ""]
    if experiment.choices:
        lines += [f"**Values chosen where the paper is silent:** {experiment.choices}.", ""]
    if experiment.fidelity:
        fields = [f.name for f in dataclasses.fields(experiment.fidelity["quick"])]
        lines += ["| fidelity | " + " | ".join(fields) + " |", "|---" * (len(fields) + 1) + "|"]
        for fidelity, settings in experiment.fidelity.items():
            values = [str(getattr(settings, f)).replace("|", "\\|") for f in fields]
            lines.append(f"| {fidelity} | " + " | ".join(values) + " |")
        lines.append("")
    lines += [f"Run it: `toysuper run {name} --fidelity quick` (or `paper`).", ""]
    for fidelity, pngs in figures_of(name).items():
        lines += [f"## Figures, {fidelity} fidelity", ""]
        lines += [f"![{png}](../figures/{png})" for png in pngs] + [""]
    lines += ["## Claims", "", claims_block(name), ""]
    return "\n".join(lines)


def on_files(files, config):
    from toysuper.experiments import REGISTRY

    for png in sorted((ROOT / "figures").glob("*.png")):
        files.append(File(f"figures/{png.name}", src_dir=str(ROOT), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    index = ["# Experiments", "", "| experiment | paper | description |", "|---|---|---|"]
    for name, experiment in REGISTRY.items():
        files.append(File.generated(config, f"experiments/{name}.md",
                                    content=experiment_page(name, experiment)))
        index.append(f"| [{name}]({name}.md) | {experiment.section} | "
                     f"{experiment.description.replace('|', '/')} |")
    files.append(File.generated(config, "experiments/index.md", content="\n".join(index) + "\n"))
    api = ["# API reference", "", "Generated from the docstrings.", ""]
    for module in API_MODULES:
        files.append(File.generated(config, f"api/{module}.md", content=f"::: {module}\n"))
        api.append(f"- [`{module}`]({module}.md)")
    files.append(File.generated(config, "api/index.md", content="\n".join(api) + "\n"))
    return files
