"""The `toysuper` command: list, run and reproduce the paper experiments."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from toysuper.catalogue import CATALOGUE
from toysuper.provenance import __version__

FIDELITIES = ("quick", "paper")  # toysuper.experiments.FIDELITIES, without importing JAX
LAUNCHERS = ("local", "slurm")  # toysuper.launch.LAUNCHERS, without importing JAX

CACHE_ENV = "TOYSUPER_CACHE_DIR"  # where compiled programs persist between runs; "" turns it off


def use_compilation_cache() -> str | None:
    """Persist XLA compilations across CLI runs ($TOYSUPER_CACHE_DIR, default
    ~/.cache/toysuper/jax), so a repeated `toysuper run` does not compile again."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "toysuper" / "jax"
    directory = os.environ.get(CACHE_ENV, str(default))
    if not directory:
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return directory


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad options print one line naming the valid choices and exit with code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="toysuper", description=__doc__)
    parser.add_argument("--version", action="version", version=f"toysuper {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    sub.add_parser("list", help="every experiment: name, paper section, models and steps per "
                                "fidelity, description")

    run = sub.add_parser("run", help="train, analyse and plot one experiment")
    run.add_argument("name", choices=list(CATALOGUE), metavar="NAME",
                     help=f"one of: {', '.join(CATALOGUE)}")
    run.add_argument("--out", default=None, help="result directory (default results/NAME)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace a result of another config in --out")

    rep = sub.add_parser("reproduce", help="run every experiment and write REPORT.md")
    rep.add_argument("--out", default="results", help="output directory (default results)")
    rep.add_argument("--only", nargs="+", choices=list(CATALOGUE), metavar="NAME",
                     help=f"run only these: {', '.join(CATALOGUE)}")
    rep.add_argument("--extensions", action="store_true",
                     help="also run the experiments beyond the two papers")
    for p in (run, rep):
        p.add_argument("--fidelity", choices=FIDELITIES, default="quick",
                       help="quick (CPU minutes) or paper (the published setup)")
        p.add_argument("--gallery", default=None,
                       help="also copy each figure here as NAME_FIDELITY.png with its sidecar")
        p.add_argument("--no-progress", action="store_true", help="hide progress bars")
        p.add_argument("--reuse-stale", action="store_true",
                       help="reuse results that another version of the training code made "
                            "(by default they are trained again)")
        cluster = p.add_argument_group(
            "job arrays", "train each sweep's chunks as the tasks of a job array (submitit: "
            "pip install 'toysuper[cluster]'); running the command again resumes only what is "
            "missing")
        cluster.add_argument("--launcher", choices=LAUNCHERS, default=None,
                             help="slurm (a Slurm job array) or local (local processes); "
                                  "default: train here, in this process")
        cluster.add_argument("--tasks", type=int, default=None,
                             help="tasks of the array (default 2)")
        cluster.add_argument("--partition", default=None, help="Slurm partition")
        cluster.add_argument("--gpus-per-task", type=int, default=None,
                             help="GPUs per task (default 0; Slurm: none requested; local: "
                                  "GPUs hidden)")
        cluster.add_argument("--cpus-per-task", type=int, default=None, help="CPU cores per task")
        cluster.add_argument("--time", type=int, default=None, metavar="MIN",
                             help="each task's time limit in minutes (a task stopped by it is "
                                  "requeued and resumes; default 60)")
    run.add_argument("--seed", type=int, default=0, help="root seed of every model's key")

    status = sub.add_parser("status", help="chunks done, running and missing in a result "
                                           "directory, per task of a job array")
    status.add_argument("directory", help="a result directory, or an experiment's")

    readme = sub.add_parser("readme", help="regenerate the README's status and claims tables "
                                           "from a reproduction's metrics.json")
    readme.add_argument("--results", default="results",
                        help="the reproduction's output directory (default results)")
    readme.add_argument("--readme", default="README.md", help="the file to update")

    from toysuper.bench import CASES

    bench = sub.add_parser("bench", help="training throughput against the PyTorch reference")
    bench.add_argument("--only", nargs="+", choices=list(CASES), metavar="CASE",
                       help=f"run only these: {', '.join(CASES)}")
    bench.add_argument("--repeats", type=int, default=3, help="timed runs per case (median)")
    bench.add_argument("--scale", type=float, default=1.0,
                       help="multiply every case's steps (e.g. 10 on a GPU)")
    bench.add_argument("--no-reference", action="store_true", help="skip the PyTorch reference")
    bench.add_argument("--json", default=None, help="write every measurement here")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    use_compilation_cache()
    from toysuper.experiments.runner import reproduce, run_experiment
    from toysuper.launch import LaunchError

    try:
        if args.command == "list":
            print(listing())
        elif args.command == "readme":
            from toysuper.experiments.readme import update_readme

            keys = update_readme(args.readme, args.results)
            print(f"{args.readme}: {len(keys)} generated blocks rewritten from {args.results}: "
                  f"{', '.join(keys)}")
        elif args.command == "bench":
            if args.repeats < 1 or args.scale <= 0:
                parser.error("bench: --repeats must be >= 1 and --scale > 0")
            from toysuper.bench import bench

            bench(args.only, args.repeats, args.scale, not args.no_reference, args.json)
        elif args.command == "status":
            from toysuper.launch import status

            print(status(args.directory))
        elif args.command == "run":
            if not 0 <= args.seed < 2**32:
                parser.error(f"argument --seed: invalid value {args.seed}: an integer from 0 "
                             f"to {2**32 - 1}")
            report = run_experiment(args.name, args.fidelity, args.seed, args.out,
                                    overwrite=args.overwrite, progress=not args.no_progress,
                                    gallery=args.gallery, reuse_stale=args.reuse_stale,
                                    launcher=launcher(args))
            print_claims(report)
        else:
            path = reproduce(args.fidelity, args.out, args.only, progress=not args.no_progress,
                             gallery=args.gallery, extensions=args.extensions,
                             reuse_stale=args.reuse_stale, launcher=launcher(args))
            print(f"report: {path}")
    except ValueError as err:  # bad input: named field, value and what is allowed
        parser.exit(2, f"toysuper: error: {err}\n")
    except (OSError, LaunchError) as err:  # unwritable output, full disk, a failed task:
        parser.exit(1, f"toysuper: error: {err}\n")  # finished chunks are kept
    return 0


def launcher(args):
    """The `Launcher` the job-array options ask for; None without --launcher (train here)."""
    options = {"tasks": args.tasks, "partition": args.partition,
               "gpus_per_task": args.gpus_per_task, "cpus_per_task": args.cpus_per_task,
               "time_minutes": args.time}
    given = {k: v for k, v in options.items() if v is not None}
    if args.launcher is None:
        if given:
            flags = [f"--{'time' if k == 'time_minutes' else k.replace('_', '-')}" for k in given]
            raise ValueError(f"{', '.join(flags)} only with --launcher local|slurm")
        return None
    from toysuper.launch import Launcher

    return Launcher(args.launcher, **given)


def listing(width: int = 100) -> str:
    """`toysuper list`: per experiment, its name, section and the models and steps it trains at
    each fidelity (the longest part's steps; parts that train on an earlier part's results
    counted as "+ N dependent"), then its description, wrapped and indented."""
    import textwrap

    from toysuper.experiments import REGISTRY
    from toysuper.experiments.base import sweep_parts

    def size(experiment, fidelity: str) -> str:
        parts = sweep_parts(experiment.sweep(fidelity))
        static = [s for s in parts.values() if hasattr(s, "size")]
        text = f"{sum(s.size for s in static):,} x {max(s.train.steps for s in static):,}"
        dependent = len(parts) - len(static)
        return text + (f" + {dependent} dependent" if dependent else "")

    rows = [(name, e.section, *(size(e, f) for f in FIDELITIES)) for name, e in REGISTRY.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    header = ("name", "section", *(f"{f}: models x steps" for f in FIDELITIES))
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for row, e in zip(rows, REGISTRY.values(), strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        lines += textwrap.wrap(e.description + (" (extension)" if e.extension else ""),
                               width, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines)


def print_claims(report: dict) -> None:
    for c in report["claims"]:
        print(f"  [{'PASS' if c['passed'] else 'FAIL'}] {c['name']}: {c['measured']}")
    n_pass = sum(c["passed"] for c in report["claims"])
    print(f"{report['experiment']}: {n_pass}/{len(report['claims'])} claims passed, "
          f"{report['n_diverged']} of {report['n_models']} models diverged; figures: "
          f"{', '.join(report['figures'].values())}")


if __name__ == "__main__":
    sys.exit(main())
