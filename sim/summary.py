"""The study's summary of replications: each replication's headline figures, and the report
(JSON-ready) of them all, with 95% intervals, the run's stability and its objectives judged."""
from __future__ import annotations

import time

import numpy as np

from sim import __version__, stability
from sim.cost import monthly_cost
from sim.histogram import LogHistogram, floor_interval
from sim.metrics import QUANTILES, quantiles_ms
from sim.objectives import judge_objectives
from sim.redis_memory import memory_mb
from sim.run_setup import MONTH_FROM_S
from sim.scenario import resolved
from sim.schema import Scenario
from sim.stats import ci95, ci_tree


def _tier(node: dict) -> str:
    return f"{node['kind']} ({node['role']})" if node["kind"] in ("redis", "postgres") else node["kind"]


def summarize(raw: dict, scenario: Scenario) -> dict:
    """One replication's headline figures (the leaves that get confidence intervals)."""
    window = raw["window_s"]
    done, failed = raw["completed_in_window"], raw["failed_in_window"]
    nodes = {name: {"utilisation": n["utilisation"], "throughput_rps": n["throughput_rps"],
                    "latency_ms": n["latency_ms"], "queue_mean": n["queue_mean"],
                    "in_system_mean": n["in_system_mean"], "waited_fraction": n["waited_fraction"],
                    "sojourn_mean_ms": n["sojourn_mean_s"] * 1000,
                    "littles_law_lambda_w": n["throughput_rps"] * n["sojourn_mean_s"]}
             for name, n in raw["nodes"].items()}
    tiers: dict = {}
    for n in raw["nodes"].values():
        if not (n["throughput_rps"] or n["utilisation"]):  # a spare app server that never ran
            continue
        t = tiers.setdefault(_tier(n), {"hist": LogHistogram(), "util": [], "rps": 0.0})
        t["hist"] += n["latency_hist"]
        t["util"].append(n["utilisation"])
        t["rps"] += n["throughput_rps"]
    busiest = max(n["utilisation"] for n in raw["nodes"].values())
    logins = raw["by_op"]["login"].count / window if "login" in raw["by_op"] else 0.0
    offered = stability.offered_rps(raw, scenario.simulation.warmup_s)
    return {
        "metrics": {
            "offered_rps": offered,
            "throughput_rps": done / window,
            "carried_share": done / (offered * window) if offered else 1.0,
            "latency_ms": quantiles_ms(raw["latency_hist"]),
            "error_rate": failed / (done + failed) if done + failed else 0.0,
            "failed_requests": failed,
            "session_writes_per_s": raw["session_writes"] / window,
            "headroom_x": 1 / busiest if busiest else float("inf"),
            "redis_memory_mb": memory_mb(scenario, logins),
            "latency_ms_by_operation": {op: quantiles_ms(h) for op, h in raw["by_op"].items()
                                        if scenario.workload.mix.get(op, 0) > 0},
        },
        "nodes": nodes,
        "tiers": {name: {"utilisation_mean": float(np.mean(t["util"])), "utilisation_max": max(t["util"]),
                         "throughput_rps": t["rps"], "latency_ms": quantiles_ms(t["hist"])}
                  for name, t in tiers.items()},
    }


def _mean_series(raws: list[dict]) -> dict:
    keys = ("arrivals_rps", "completions_rps", "failures_rps", "in_flight")
    series = {k: np.mean([r["series"][k] for r in raws], axis=0).tolist() for k in keys}
    series["latency_step_s"] = raws[0]["series"]["latency_step_s"]
    steps = np.array([r["series"]["latency_ms_p50_p95_p99"] for r in raws], dtype=float)
    seen = (~np.isnan(steps)).sum(axis=0)  # steps in which nothing succeeded stay NaN, silently
    series["latency_ms_p50_p95_p99"] = np.where(
        seen > 0, np.nansum(steps, axis=0) / np.maximum(seen, 1), np.nan).tolist()
    series["nodes"] = {name: {k: np.mean([r["series"]["nodes"][name][k] for r in raws], axis=0).tolist()
                              for k in ("utilisation", "queue")} for name in used_nodes(raws)}
    series["app_servers"] = np.mean([r["series"]["app_servers"] for r in raws], axis=0).tolist()
    return series


def used_nodes(raws: list[dict]) -> list[str]:
    """Nodes that served anything in some replication (spare app servers that never ran are left out)."""
    return [name for name in raws[0]["nodes"]
            if any(raw["nodes"][name]["throughput_rps"] or raw["nodes"][name]["utilisation"]
                   for raw in raws)]


def _floored(tree):
    """Every latency quantile's interval floored at the histogram's resolution."""
    if not isinstance(tree, dict):
        return tree
    return {k: floor_interval(v) if k in QUANTILES and isinstance(v, dict) and "mean" in v
            else _floored(v) for k, v in tree.items()}


def report(scenario: Scenario, raws: list[dict], wall_s: float) -> dict:
    """The report (JSON-ready) of a scenario's replications."""
    sim = scenario.simulation
    summaries = [summarize(raw, scenario) for raw in raws]
    costs = [monthly_cost(scenario, raw["price_kinds"]) for raw in raws]
    cost = monthly_cost(scenario, {k: float(np.mean([raw["price_kinds"][k] for raw in raws]))
                                   for k in raws[0]["price_kinds"]})
    metrics = _floored(ci_tree([s["metrics"] for s in summaries]))
    metrics["cost_usd_per_month"] = ci95([c["total_usd_per_month"] for c in costs])
    reasons = sorted({k for raw in raws for k in raw["fail_reasons"]})
    used = used_nodes(raws)
    nodes = _floored(ci_tree([{n: s["nodes"][n] for n in used} for s in summaries]))
    for name, node in nodes.items():
        node.update({k: raws[0]["nodes"][name][k] for k in ("kind", "role", "capacity")})
    varying = scenario.workload.arrivals.kind != "constant"
    steady = stability.assess(raws, sim.warmup_s, varying)
    window = None
    if varying:
        worst = stability.worst_window(raws, sim.warmup_s, sim.duration_s, scenario.objectives.error_rate)
        window = ci_tree(worst.pop("replications")) | worst
    totals = [raw["totals"] | {"lb_in_system": raw["lb_in_system"]} for raw in raws]
    return {
        "tool": {"name": "sessionsim", "version": __version__, "engine": sim.engine},
        "scenario": resolved(scenario),
        "seed": sim.seed,
        "replications": len(raws),
        "stability": steady,
        "metrics": metrics,
        "worst_window": window,
        "failure_reasons": {k: ci95([raw["fail_reasons"].get(k, 0) for raw in raws]) for k in reasons},
        "nodes": nodes,
        "tiers": _floored(ci_tree([s["tiers"] for s in summaries])),
        "cost": cost | {"basis": _COST_BASIS[sim.duration_s >= MONTH_FROM_S]},
        "objectives": judge_objectives(scenario, metrics, steady, window),
        "conservation": totals,
        "series": _mean_series(raws),
        "run": {"wall_s": wall_s, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "simulated_requests": sum(t["arrived"] for t in totals),
                "simulated_requests_per_wall_s": sum(t["arrived"] for t in totals) / wall_s},
    }


_COST_BASIS = {True: "the app servers running, averaged over the measured window (a day or more: "
                     "what a month of such days would run)",
               False: "the app servers running at the start of the measured window (a run shorter "
                      "than a day is not extrapolated to a month)"}


