"""The study's summary of replications: each replication's headline figures, and the report of
them all (sim.study.report.Report), with 95% intervals, the run's stability and its objectives judged."""
from __future__ import annotations

import time
from dataclasses import asdict

import numpy as np

from sim import __version__
from sim.study import stability
from sim.model.cost import monthly_cost
from sim.engines.histogram import LogHistogram, floor_interval
from sim.engines.metrics import QUANTILES, quantiles_ms
from sim.study.objectives import judge_objectives
from sim.study.redis_memory import memory_mb
from sim.study.report import (Conservation, Cost, CostLine, Latency, Metrics, NodeSummary, Report, RunInfo,
                        TierSummary, Tool, WorstWindow)
from sim.engines.results import NodeFigures, NodeSeries, Replication, Series
from sim.engines.setup import MONTH_FROM_S
from sim.model.schema import Scenario
from sim.study.stats import ci95, ci_tree


def _tier(node: NodeFigures) -> str:
    return f"{node.kind} ({node.role})" if node.kind in ("redis", "postgres") else node.kind


def _node(n: NodeFigures) -> dict:
    return {"utilisation": n.utilisation, "throughput_rps": n.throughput_rps,
            "latency_ms": n.latency_ms, "queue_mean": n.queue_mean,
            "in_system_mean": n.in_system_mean, "waited_fraction": n.waited_fraction,
            "sojourn_mean_ms": n.sojourn_mean_s * 1000,
            "littles_law_lambda_w": n.throughput_rps * n.sojourn_mean_s}


def _tiers(raw: Replication) -> dict:
    tiers: dict = {}
    for n in raw.nodes.values():
        if not (n.throughput_rps or n.utilisation):  # a spare app server that never ran
            continue
        t = tiers.setdefault(_tier(n), {"hist": LogHistogram(), "util": [], "rps": 0.0})
        t["hist"] += n.latency_hist
        t["util"].append(n.utilisation)
        t["rps"] += n.throughput_rps
    return {name: {"utilisation_mean": float(np.mean(t["util"])), "utilisation_max": max(t["util"]),
                   "throughput_rps": t["rps"], "latency_ms": quantiles_ms(t["hist"])}
            for name, t in tiers.items()}


def summarize(raw: Replication, scenario: Scenario) -> dict:
    """One replication's headline figures: the leaves that get confidence intervals, in the
    shape of the report's Metrics, NodeSummary and TierSummary (which check every name)."""
    window = raw.window_s
    done, failed = raw.completed_in_window, raw.failed_in_window
    busiest = max(n.utilisation for n in raw.nodes.values())
    by_op = raw.latency_hist_by_op
    logins = by_op["login"].count / window if "login" in by_op else 0.0
    offered = stability.offered_rps(raw, scenario.simulation.warmup_s)
    return {
        "metrics": {
            "offered_rps": offered,
            "throughput_rps": done / window,
            "carried_share": done / (offered * window) if offered else 1.0,
            "latency_ms": quantiles_ms(raw.latency_hist),
            "error_rate": failed / (done + failed) if done + failed else 0.0,
            "failed_requests": failed,
            "session_writes_per_s": raw.session_writes / window,
            "headroom_x": 1 / busiest if busiest else float("inf"),
            "redis_memory_mb": memory_mb(scenario, logins),
            "latency_ms_by_operation": {op: quantiles_ms(h) for op, h in by_op.items()
                                        if scenario.workload.mix.get(op, 0) > 0},
        },
        "nodes": {name: _node(n) for name, n in raw.nodes.items()},
        "tiers": _tiers(raw),
    }


def _mean_series(raws: list[Replication]) -> Series:
    def mean(values) -> list:
        return np.mean(values, axis=0).tolist()
    steps = np.array([r.series.latency_ms_p50_p95_p99 for r in raws], dtype=float)
    seen = (~np.isnan(steps)).sum(axis=0)  # steps in which nothing succeeded stay NaN, silently
    return Series(
        arrivals_rps=mean([r.series.arrivals_rps for r in raws]),
        completions_rps=mean([r.series.completions_rps for r in raws]),
        failures_rps=mean([r.series.failures_rps for r in raws]),
        in_flight=mean([r.series.in_flight for r in raws]),
        latency_step_s=raws[0].series.latency_step_s,
        latency_ms_p50_p95_p99=np.where(seen > 0, np.nansum(steps, axis=0) / np.maximum(seen, 1),
                                        np.nan).tolist(),
        nodes={name: NodeSeries(mean([r.series.nodes[name].utilisation for r in raws]),
                                mean([r.series.nodes[name].queue for r in raws]))
               for name in used_nodes(raws)},
        app_servers=mean([r.series.app_servers for r in raws]))


def used_nodes(raws: list[Replication]) -> list[str]:
    """Nodes that served anything in some replication (spare app servers that never ran are left out)."""
    return [name for name in raws[0].nodes
            if any(raw.nodes[name].throughput_rps or raw.nodes[name].utilisation for raw in raws)]


def _floored(tree):
    """Every latency quantile's interval floored at the histogram's resolution."""
    if not isinstance(tree, dict):
        return tree
    return {k: floor_interval(v) if k in QUANTILES and isinstance(v, dict) and "mean" in v
            else _floored(v) for k, v in tree.items()}


def _with_latency(tree: dict) -> dict:
    return tree | {"latency_ms": Latency(**tree["latency_ms"])}


def _metrics(summaries: list[dict], costs: list[dict]) -> Metrics:
    tree = _with_latency(_floored(ci_tree([s["metrics"] for s in summaries])))
    by_op = {op: Latency(**q) for op, q in tree["latency_ms_by_operation"].items()}
    return Metrics(**(tree | {"latency_ms_by_operation": by_op,
                              "cost_usd_per_month": ci95([c["total_usd_per_month"] for c in costs])}))


def _nodes(raws: list[Replication], summaries: list[dict]) -> dict[str, NodeSummary]:
    used = used_nodes(raws)
    tree = _floored(ci_tree([{n: s["nodes"][n] for n in used} for s in summaries]))
    first = raws[0].nodes
    return {name: NodeSummary(kind=first[name].kind, role=first[name].role,
                              capacity=first[name].capacity, **_with_latency(node))
            for name, node in tree.items()}


def _cost(scenario: Scenario, raws: list[Replication]) -> Cost:
    kinds = raws[0].nodes_by_price_kind
    cost = monthly_cost(scenario, {k: float(np.mean([raw.nodes_by_price_kind[k] for raw in raws]))
                                   for k in kinds})
    return Cost(price_file=cost["price_file"],
                nodes={k: CostLine(**line) for k, line in cost["nodes"].items()},
                fixed_usd_per_month=cost["fixed_usd_per_month"],
                total_usd_per_month=cost["total_usd_per_month"],
                basis=COST_BASIS[scenario.simulation.duration_s >= MONTH_FROM_S])


def report(scenario: Scenario, raws: list[Replication], wall_s: float) -> Report:
    """The report of a scenario's replications."""
    sim = scenario.simulation
    summaries = [summarize(raw, scenario) for raw in raws]
    metrics = _metrics(summaries, [monthly_cost(scenario, raw.nodes_by_price_kind) for raw in raws])
    varying = scenario.workload.arrivals.kind != "constant"
    steady = stability.assess(raws, sim.warmup_s, varying)
    window = None
    if varying:
        worst = stability.worst_window(raws, sim.warmup_s, sim.duration_s, scenario.objectives.error_rate)
        window = WorstWindow(**(ci_tree(worst.pop("replications")) | worst))
    reasons = sorted({k for raw in raws for k in raw.fail_reasons})
    totals = [Conservation(**asdict(raw.totals), lb_in_system=raw.lb_in_system) for raw in raws]
    arrived = sum(t.arrived for t in totals)
    return Report(
        tool=Tool("sessionsim", __version__, sim.engine), scenario=scenario, seed=sim.seed,
        replications=len(raws), stability=steady, metrics=metrics, worst_window=window,
        failure_reasons={k: ci95([raw.fail_reasons.get(k, 0) for raw in raws]) for k in reasons},
        nodes=_nodes(raws, summaries),
        tiers={name: TierSummary(**_with_latency(t))
               for name, t in _floored(ci_tree([s["tiers"] for s in summaries])).items()},
        cost=_cost(scenario, raws),
        objectives=judge_objectives(scenario, metrics, steady, window),
        conservation=totals, series=_mean_series(raws),
        run=RunInfo(wall_s=wall_s, finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    simulated_requests=arrived, simulated_requests_per_wall_s=arrived / wall_s),
        request_logs=[list(raw.request_log) for raw in raws] if sim.log_requests else None)


COST_BASIS = {True: "the app servers running, averaged over the measured window (a day or more: "
                    "what a month of such days would run)",
              False: "the app servers running at the start of the measured window (a run shorter "
                     "than a day is not extrapolated to a month)"}
