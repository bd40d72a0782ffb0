#!/usr/bin/env python3
"""sessionsim command line.

  python simulate.py SCENARIO [--out DIR] [--seed N] [--replications N] [--duration SECONDS]
                              [--warmup SECONDS] [--engine fast|reference] [--force] [--quiet]
                              [--yes]
  python simulate.py validate SCENARIO [--resolved]
  python simulate.py compare SCENARIO... [--out DIR] [--force]
  python simulate.py schema [--out FILE] [--force]
  python simulate.py sweep SCENARIO --vary PATH=VALUES [--vary ...] [--find-max PATH] [--scheduler tcp://HOST:PORT]
  python simulate.py plan SCENARIO [--growth 1,2,3] [--scheduler tcp://HOST:PORT]
  python simulate.py calibrate --redis URL [--postgres URL] [--rounds N] [--out DIR]
  python simulate.py calibrate --cleanup --redis URL [--postgres URL]
  python simulate.py replay --redis URL --calibration FILE [--scenario SCENARIO] [--rate-rps N]
  python simulate.py lab sentinel [SCENARIO] [--kill crash|hang] [--trials N] [--out DIR]
  python simulate.py availability [SCENARIO] [--matrix-report REPORT.json] [--years N] [--out DIR]
  python simulate.py claims [--matrix-report REPORT.json] [--calibration FILE] [--out DIR]

Exit status: 0 on success, 2 on invalid input (a one-line message, never a traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from sim.model import scenario as scenario_io
from sim.model.errors import MESSAGE_LIMIT, UserError, printable
from sim.model.schema import Scenario
from sim.model.yamlio import InputError

SUBCOMMANDS = ("validate", "compare", "schema", "calibrate", "lab", "replay", "availability", "claims",
               "sweep", "plan")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _run_options(parser: argparse.ArgumentParser):
    parser.add_argument("--out", type=Path, help="report directory (default reports/<scenario name>/)")
    parser.add_argument("--seed", type=int, help="override simulation.seed")
    parser.add_argument("--replications", type=int, help="override simulation.replications")
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="override simulation.duration_s")
    parser.add_argument("--warmup", type=float, metavar="SECONDS", help="override simulation.warmup_s")
    parser.add_argument("--engine", choices=("fast", "reference"), help="override simulation.engine")
    parser.add_argument("--force", action="store_true",
                        help="write into --out although it holds something else than this report")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    parser.add_argument("--yes", action="store_true",
                        help="run although the estimate is over the time or memory limit")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run on a Dask cluster (default: $SESSIONSIM_SCHEDULER, else this machine)")


def load_scenario(file, args=None) -> Scenario:
    """The scenario file, with the command line's overrides applied and validated, and the
    price and claims files it names read: everything a run needs checked before it starts."""
    scenario = _overridden(scenario_io.load(file), args)
    from sim.model.cost import check_prices
    check_prices(scenario)
    if scenario.failures:
        from sim.study import claims
        claims.load(scenario)
    return scenario


def _overridden(scenario: Scenario, args) -> Scenario:
    overrides = {"seed": getattr(args, "seed", None), "replications": getattr(args, "replications", None),
                 "duration_s": getattr(args, "duration", None), "warmup_s": getattr(args, "warmup", None),
                 "engine": getattr(args, "engine", None)}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if not overrides:
        return scenario
    data = scenario.model_dump()
    data["simulation"].update(overrides)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        cause = (err.get("ctx") or {}).get("error")
        loc = tuple(err["loc"]) + tuple(getattr(cause, "loc", ()))
        raise InputError("command line", None, ".".join(map(str, loc)),
                         err["msg"].replace("Value error, ", "")) from None


def batches(scenario: Scenario) -> tuple[int, int]:
    """(batches of replications a run makes at most, how many of them run only if needed): a
    sequential run's first batch, and the later ones while a verdict is undecided; for a failure
    matrix, such a run without failures, one per failure and one per claim's condition (which
    runs only when its claim fails or stays uncertain)."""
    from sim.study import claims, runner
    per_run = runner.batches(scenario)
    if not scenario.failures or not scenario.incidents.matrix:
        return per_run, per_run - 1
    book = claims.load(scenario)["failures"]
    conditions = sum(bool((book.get(f.name) or {}).get("condition")) for f in scenario.failures)
    runs = 1 + len(scenario.failures) + conditions
    return runs * per_run, runs * per_run - 1 - len(scenario.failures)


def _progress(quiet: bool, scenarios: list[Scenario] | None = None):
    """What the run shows on standard error as it goes (nothing with --quiet); without the
    scenarios to count their batches, no "batch k/N"."""
    if quiet:
        return None
    from reporting.progress import Progress
    counts = [batches(s) for s in scenarios or []] or [(1, 0)]
    return Progress(sum(n for n, _ in counts), sum(k for _, k in counts))


def cmd_run(argv) -> int:
    parser = _Parser(prog="simulate.py", description="Run a scenario and write its report.")
    parser.add_argument("scenario", type=Path)
    _run_options(parser)
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario, args)
    from sim.study import budget
    budget.check(scenario, args.yes, str(args.scenario))
    from reporting.terminal import summary
    from reporting.writer import Claim, write_report
    from sim.study.failure_matrix import run
    out = args.out or Path("reports") / scenario.name
    from sim.study.commands import on_cluster
    with Claim(out, "report", scenario.name, args.force) as claim:  # checked before the run
        progress = _progress(args.quiet, [scenario])
        with on_cluster(args.scheduler):
            report = replace(run(scenario, progress), scenario_file=str(args.scenario))
        if progress:
            progress.line(f"writing the report to {out}/")
        paths = write_report(report, out, claim=claim)
    if not args.quiet:
        print(summary(report))
    print(f"report: {paths[0].parent / 'report.html'} (open it in a browser; beside it report.md, "
          f"report.json and {len(paths) - 3} plots)")
    return 0


def cmd_validate(argv) -> int:
    parser = _Parser(prog="simulate.py validate", description="Check a scenario file.")
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--resolved", action="store_true", help="print the scenario with every default")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario)
    if args.resolved:
        print(json.dumps(scenario_io.resolved(scenario), indent=2))
    else:
        print(f"{args.scenario}: valid ({scenario.architecture}, {scenario.name})")
    return 0


def unique_names(names: list[str]) -> list[str]:
    """Names made distinct by a suffix (-2, -3): two scenarios of one name keep a report each."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        candidate = n if seen[n] == 1 else f"{n}-{seen[n]}"
        while candidate in out or (candidate != n and candidate in names):
            seen[n] += 1
            candidate = f"{n}-{seen[n]}"
        out.append(candidate)
    return out


def comparison_dir(names: list[str]) -> Path:
    """reports/compare-A-vs-B; past 200 characters, cut and told apart by a hash."""
    import hashlib
    label = "compare-" + "-vs-".join(names)
    if len(label) > 200:
        label = label[:180] + "-" + hashlib.sha1(label.encode()).hexdigest()[:12]
    return Path("reports") / label


def cmd_compare(argv) -> int:
    parser = _Parser(prog="simulate.py compare", description="Run scenarios and compare them.")
    parser.add_argument("scenarios", type=Path, nargs="+")
    _run_options(parser)
    args = parser.parse_args(argv)
    scenarios = [load_scenario(f, args) for f in args.scenarios]
    from sim.study import budget
    for file, scenario in zip(args.scenarios, scenarios):
        budget.check(scenario, args.yes, str(file))
    from reporting.writer import Claim, write_comparison
    from sim.study.commands import on_cluster
    from sim.study.failure_matrix import run
    names = [s.name for s in scenarios]
    subdirs = unique_names(names)
    out = args.out or comparison_dir(names)
    with Claim(out, "comparison", "-vs-".join(names), args.force) as claim:  # before the runs
        reports = []
        progress = _progress(args.quiet, scenarios)
        for file, scenario in zip(args.scenarios, scenarios):
            with on_cluster(args.scheduler):
                reports.append(replace(run(scenario, progress), scenario_file=str(file)))
        if progress:
            progress.line(f"writing the comparison to {out}/")
        paths = write_comparison(reports, out, claim=claim, subdirs=subdirs)
    from reporting.compare import render_plain
    print(render_plain(reports))
    print(f"comparison: {out / 'compare.html'} (beside it compare.md, {paths[2].name}, "
          f"{paths[3].name}; reports in {', '.join(d + '/' for d in subdirs)})")
    return 0


def cmd_schema(argv) -> int:
    parser = _Parser(prog="simulate.py schema", description="Export the scenario JSON Schema.")
    parser.add_argument("--out", type=Path, help="file to write (default: standard output)")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args(argv)
    text = json.dumps(scenario_io.json_schema(), indent=2) + "\n"
    if args.out:
        from reporting.writer import write_file
        write_file(args.out, text, args.force, "the schema")
    else:
        sys.stdout.write(text)
    return 0


def cmd_sweep(argv) -> int:
    from sim.study.commands import sweep
    return sweep(argv, _Parser, load_scenario, _run_options)


def cmd_plan(argv) -> int:
    from sim.study.commands import plan
    return plan(argv, _Parser, load_scenario, _run_options)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    command = argv[0] if argv[0] in SUBCOMMANDS else None
    try:
        if command in ("calibrate", "lab", "replay"):
            from redis_backend.cli import main as backend_main
            return backend_main(argv)
        if command in ("availability", "claims"):
            from sim.study.ledger import cli
            handler = {"availability": cli.cmd_availability, "claims": cli.cmd_claims}[command]
            return handler(argv[1:], _progress("--quiet" in argv))
        handler = {"validate": cmd_validate, "compare": cmd_compare, "schema": cmd_schema,
                   "sweep": cmd_sweep, "plan": cmd_plan}.get(command, cmd_run)
        return handler(argv[1:] if command else argv)
    except (UserError, UsageError) as exc:
        print(f"error: {printable(exc, MESSAGE_LIMIT)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
