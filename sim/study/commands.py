"""The sweep and plan commands (simulate.py hands them its parser, loader and run options)."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

from sim.study import executor as executors


@contextmanager
def on_cluster(scheduler: str | None):
    """Replications of a plain run on the Dask cluster named by --scheduler or
    SESSIONSIM_SCHEDULER; without one, nothing changes (this machine's pool, its progress bar)."""
    if not (scheduler or os.environ.get(executors.SCHEDULER_ENV)):
        yield
        return
    from sim.study import runner
    with executors.make(scheduler) as ex:
        before = runner.use_executor(ex)
        try:
            yield
        finally:
            runner.use_executor(before)


def sweep(argv, parser_cls, load_scenario, run_options) -> int:
    from reporting import sweep as out_
    from reporting.writer import Claim
    from sim.study.find_max import find_max
    from sim.model.overrides import parse_vary
    from sim.study.sweep import sweep as run_sweep
    parser = parser_cls(prog="simulate.py sweep", description="Run every combination of varied fields.")
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--vary", action="append", default=[], metavar="PATH=VALUES",
                        help="a dotted field and its values: a:b, a:b:step or v1,v2,...")
    parser.add_argument("--find-max", metavar="PATH", help="the highest value still meeting the objectives")
    parser.add_argument("--tolerance", type=float, default=0.01,
                        help="--find-max: relative width at which bisection stops (default 0.01)")
    run_options(parser)
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario, args)
    vary = [parse_vary(v) for v in args.vary]
    if not vary and not args.find_max:
        parser.error("give --vary PATH=VALUES and/or --find-max PATH")
    out = args.out or Path("reports") / f"{scenario.name}-sweep"
    started = time.time()
    result = {"scenario": scenario.name, "scenario_file": str(args.scenario),
              "seed": scenario.simulation.seed, "vary": {p: v for p, v in vary}}
    with Claim(out, "sweep", scenario.name, args.force) as claim:  # checked before the runs
        with executors.make(args.scheduler) as ex:
            grid = [(p, v) for p, v in vary if p != args.find_max]
            result["points"] = run_sweep(scenario, grid, ex) if grid else []
            if args.find_max:
                bounds = next(((min(v), max(v)) for p, v in vary if p == args.find_max), None)
                result["find_max"] = find_max(scenario, args.find_max, ex, bounds, args.tolerance)
        result["wall_s"] = time.time() - started
        paths = out_.write(result, claim)
    if not args.quiet:
        print(out_.markdown(result))
    if args.find_max:
        print(out_.find_max_line(result["find_max"]))
    print(f"sweep: {out}/ ({', '.join(p.name for p in paths)})")
    return 0


def _growth(text: str | None) -> list[float] | None:
    from sim.model.overrides import parse_values
    from sim.model.yamlio import InputError
    if text is None:
        return None
    try:
        values = [float(v) for v in parse_values(text)]
    except ValueError as exc:
        raise InputError("command line", None, "--growth", f"expected factors like 1,2,3: {exc}") from None
    if any(v <= 0 for v in values):
        raise InputError("command line", None, "--growth", "expected factors > 0")
    return values


def plan(argv, parser_cls, load_scenario, run_options) -> int:
    from reporting import plan as out_
    from reporting.writer import Claim
    from sim.study.plan.search import plan as run_plan
    from sim.model.yamlio import InputError
    parser = parser_cls(prog="simulate.py plan", description="The cheapest fleet of the scenario's "
                        "plan: section that meets its objectives and survives its failures.")
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--growth", metavar="F1,F2,...", help="plan for these multiples of the load; "
                        "with the runway of today's fleet")
    run_options(parser)
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario, args)
    if scenario.plan is None:
        raise InputError(args.scenario, None, "plan", "the scenario has no plan: section "
                         "(the design space; see scenarios/plan-peak.yaml)")
    growth = _growth(args.growth)
    from sim.study.plan.space import candidates
    candidates(scenario, str(args.scenario))  # a bad space: one line naming the file, first
    out = args.out or Path("reports") / f"{scenario.name}-plan"
    with Claim(out, "plan", scenario.name, args.force) as claim:  # checked before the search
        with executors.make(args.scheduler) as ex:
            result = run_plan(scenario, ex, growth)
        result["scenario_file"] = str(args.scenario)
        paths = out_.write(result, claim)
    if not args.quiet:
        print(out_.markdown(result))
    print(f"plan: {out}/ ({', '.join(p.name for p in paths)})")
    return 0
