#!/usr/bin/env python3
"""sessionsim command line.

  python simulate.py SCENARIO [--out DIR] [--seed N] [--replications N] [--duration SECONDS]
                              [--warmup SECONDS] [--engine fast|reference] [--force] [--quiet]
  python simulate.py validate SCENARIO [--resolved]
  python simulate.py compare SCENARIO... [--out DIR]
  python simulate.py schema [--out FILE]
  python simulate.py sweep SCENARIO --vary PATH=VALUES [--vary ...] [--find-max PATH] [--scheduler tcp://HOST:PORT]
  python simulate.py plan SCENARIO [--growth 1,2,3] [--scheduler tcp://HOST:PORT]
  python simulate.py calibrate --redis URL [--postgres URL] [--out DIR]
  python simulate.py replay --redis URL --calibration FILE [--scenario SCENARIO] [--rate-rps N]
  python simulate.py lab sentinel [SCENARIO] [--kill crash|hang] [--out DIR]

Exit status: 0 on success, 2 on invalid input (a one-line message, never a traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from sim import scenario as scenario_io
from sim.errors import UserError
from sim.schema import Scenario
from sim.yamlio import InputError

SUBCOMMANDS = ("validate", "compare", "schema", "calibrate", "lab", "replay", "sweep", "plan")


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
    parser.add_argument("--force", action="store_true", help="replace another scenario's report in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run on a Dask cluster (default: $SESSIONSIM_SCHEDULER, else this machine)")


def load_scenario(file, args=None) -> Scenario:
    """The scenario file, with the command line's overrides applied and validated."""
    scenario = scenario_io.load(file)
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
        raise InputError("command line", None, ".".join(map(str, err["loc"])),
                         err["msg"].replace("Value error, ", "")) from None


def _progress(quiet: bool):
    """A factory of progress bars, one per batch of replications (none when not on a terminal)."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    def start(scenario: Scenario, label: str):
        sim = scenario.simulation
        bar = tqdm(total=sim.duration_s * sim.replications, delay=2, file=sys.stderr, desc=label,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")

        def update(done):
            bar.update(done - bar.n)
            if bar.n >= bar.total:
                bar.close()
        return update
    return start


def cmd_run(argv) -> int:
    parser = _Parser(prog="simulate.py", description="Run a scenario and write its report.")
    parser.add_argument("scenario", type=Path)
    _run_options(parser)
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario, args)
    from reporting.terminal import summary
    from reporting.writer import check_out_dir, write_report
    from sim.failure_matrix import run
    out = args.out or Path("reports") / scenario.name
    check_out_dir(out, scenario.name, args.force)
    from sim.commands import on_cluster
    with on_cluster(args.scheduler):
        report = run(scenario, _progress(args.quiet))
    report["scenario_file"] = str(args.scenario)
    paths = write_report(report, out, force=args.force)
    if not args.quiet:
        print(summary(report))
    print(f"report: {paths[0].parent}/ ({', '.join(p.name for p in paths)})")
    return 0


def cmd_validate(argv) -> int:
    parser = _Parser(prog="simulate.py validate", description="Check a scenario file.")
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--resolved", action="store_true", help="print the scenario with every default")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario)
    from sim.cost import load_prices
    load_prices(scenario)
    if args.resolved:
        print(json.dumps(scenario_io.resolved(scenario), indent=2))
    else:
        print(f"{args.scenario}: valid ({scenario.architecture}, {scenario.name})")
    return 0


def cmd_compare(argv) -> int:
    parser = _Parser(prog="simulate.py compare", description="Run scenarios and compare them.")
    parser.add_argument("scenarios", type=Path, nargs="+")
    _run_options(parser)
    args = parser.parse_args(argv)
    scenarios = [load_scenario(f, args) for f in args.scenarios]
    from reporting.writer import check_out_dir, write_comparison, write_report
    from sim.failure_matrix import run
    out = args.out or Path("reports") / ("compare-" + "-vs-".join(s.name for s in scenarios))
    for scenario in scenarios:
        check_out_dir(out / scenario.name, scenario.name, args.force)
    reports = []
    from sim.commands import on_cluster
    for file, scenario in zip(args.scenarios, scenarios):
        with on_cluster(args.scheduler):
            report = run(scenario, _progress(args.quiet))
        report["scenario_file"] = str(file)
        write_report(report, out / scenario.name, force=args.force)
        reports.append(report)
    paths = write_comparison(reports, out)
    print(paths[0].read_text())
    print(f"comparison: {out}/ ({', '.join(p.name for p in paths)})")
    return 0


def cmd_schema(argv) -> int:
    parser = _Parser(prog="simulate.py schema", description="Export the scenario JSON Schema.")
    parser.add_argument("--out", type=Path, help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    text = json.dumps(scenario_io.json_schema(), indent=2) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_sweep(argv) -> int:
    from sim.commands import sweep
    return sweep(argv, _Parser, load_scenario, _run_options)


def cmd_plan(argv) -> int:
    from sim.commands import plan
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
        handler = {"validate": cmd_validate, "compare": cmd_compare, "schema": cmd_schema,
                   "sweep": cmd_sweep, "plan": cmd_plan}.get(command, cmd_run)
        return handler(argv[1:] if command else argv)
    except (UserError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
