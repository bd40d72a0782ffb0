"""What-if sweeps: every combination of the varied fields run, each point's headline figures with
their intervals and its objectives judged (sim.study.objectives)."""
from __future__ import annotations

import itertools
import time

from sim.study import failure_matrix, runner, summary
from sim.model import overrides
from sim.study.objectives import undecided
from sim.study.report import Report
from sim.model.schema import Scenario


def grid(vary: list[tuple[str, list]]) -> list[dict]:
    """Every combination of the varied values, as {path: value}, the first path varying slowest."""
    paths = [p for p, _ in vary]
    return [dict(zip(paths, combo)) for combo in itertools.product(*(v for _, v in vary))]


def _more(executor, scenario: Scenario, raws: list, report: Report) -> tuple[Report, list]:
    """Replications added in batches while an objective is uncertain (simulation.until_decided)."""
    sim = scenario.simulation
    while runner.until_decided(scenario) and undecided(report.objectives) \
            and len(raws) < sim.max_replications:
        started = time.time()
        raws = raws + executor.replications(scenario, len(raws),
                                            min(sim.replications, sim.max_replications - len(raws)))
        report = summary.report(scenario, raws, time.time() - started)
    return report, raws


def run_points(executor, scenarios: list[Scenario]) -> list[Report]:
    """Each scenario's report. The first batch of every point runs at once (blocks of
    replications spread over the workers); then more for points left undecided. A scenario with
    failures runs as the failure matrix does (sim.study.failure_matrix)."""
    before = runner.use_executor(executor)
    try:
        plain = [s for s in scenarios if not s.failures]
        started = time.time()
        first = executor.grouped([(s, 0, s.simulation.replications) for s in plain])
        wall_s = (time.time() - started) / max(1, len(plain))
        done = {id(s): _more(executor, s, raws, summary.report(s, raws, wall_s))[0]
                for s, raws in zip(plain, first)}
        return [done[id(s)] if id(s) in done else failure_matrix.run(s) for s in scenarios]
    finally:
        runner.use_executor(before)


def _bottleneck(report: Report) -> dict:
    name = max(report.nodes, key=lambda n: report.nodes[n].utilisation["mean"] or 0)
    return {"node": name, **report.nodes[name].utilisation}


def headline(report: Report) -> dict:
    """A point's figures: throughput, p50, p99, mean latency, error rate, the bottleneck's
    utilisation, cost (each with its interval), steadiness and the objectives' verdicts."""
    m = report.metrics
    return {"throughput_rps": m.throughput_rps, "error_rate": m.error_rate,
            "cost_usd_per_month": m.cost_usd_per_month,
            "p50_ms": m.latency_ms.p50, "p99_ms": m.latency_ms.p99,
            "mean_latency_ms": m.latency_ms.mean,
            "bottleneck_utilisation": _bottleneck(report),
            "steady": report.stability.steady,
            "objectives": {k: o.verdict for k, o in report.objectives.items()},
            "replications": len(report.conservation)}


def feasible(report: Report) -> str:
    """"met" when every objective is met, "missed" when one is missed or the run is not steady
    (its averages mean nothing), else "uncertain"."""
    verdicts = [o.verdict for o in report.objectives.values()]
    if not report.stability.steady or "missed" in verdicts or "not judged" in verdicts:
        return "missed"
    return "met" if all(v == "met" for v in verdicts) else "uncertain"


def sweep(scenario: Scenario, vary: list[tuple[str, list]], executor) -> list[dict]:
    """The points of the grid: {"values", **headline, "meets_objectives"}."""
    for path, _ in vary:
        overrides.check_path(scenario, path)
    points = grid(vary)
    scenarios = [overrides.apply(scenario, p) for p in points]
    reports = run_points(executor, scenarios)
    return [{"values": p, **headline(r), "meets_objectives": feasible(r)}
            for p, r in zip(points, reports)]
