"""Replications on independent streams, in parallel processes, reduced to figures with 95% CIs."""
from __future__ import annotations

import gc
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from sim import __version__
from sim.cost import monthly_cost
from sim.engine import run_replication
from sim.histogram import LogHistogram
from sim.metrics import quantiles_ms
from sim.scenario import resolved
from sim.schema import Scenario
from sim.stats import ci95, ci_tree, judge

_progress = None  # shared array of simulated seconds per replication, set in each worker


def _init_worker(progress):
    global _progress
    _progress = progress


def engine(scenario: Scenario):
    """The run_replication of the scenario's engine."""
    if scenario.simulation.engine == "fast":
        from sim.fast.engine import run_replication as fast
        return fast
    return run_replication


def _run_one(scenario: Scenario, replication: int) -> dict:
    def report(now):
        if _progress is not None:
            _progress[replication] = now
    raw = engine(scenario)(scenario, replication, report)
    # a replication's arrays hang in reference cycles until the collector's next full pass: a
    # worker running many grew by 30 MB each; collected here, its memory stays flat
    gc.collect()
    raw["worker"] = {"pid": os.getpid(), "rss_mb": rss_mb()}
    return raw


def rss_mb() -> float:
    """This process's resident memory now (Linux), in MB; NaN elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (OSError, ValueError, IndexError):
        return float("nan")


def _tier(node: dict) -> str:
    return f"{node['kind']} ({node['role']})" if node["kind"] in ("redis", "postgres") else node["kind"]


def _memory_mb(scenario: Scenario, logins_per_s: float) -> float:
    """Redis memory by Little's law: live sessions = new sessions/s x (visit + TTL), capped."""
    sess, redis = scenario.workload.sessions, scenario.topology.redis
    if redis is None:
        return float("nan")
    sessions = min(sess.max_sessions, logins_per_s * (sess.visit_duration_s + sess.session_ttl_s))
    carts = logins_per_s * sess.cart_fraction * (sess.visit_duration_s + sess.cart_ttl_s)
    return (sessions * redis.bytes_per_session + carts * redis.bytes_per_cart) / 2 ** 20


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
    return {
        "metrics": {
            "throughput_rps": done / window,
            "latency_ms": quantiles_ms(raw["latency_hist"]),
            "error_rate": failed / (done + failed) if done + failed else 0.0,
            "failed_requests": failed,
            "session_writes_per_s": raw["session_writes"] / window,
            "headroom_x": 1 / busiest if busiest else float("inf"),
            "redis_memory_mb": _memory_mb(scenario, logins),
            "latency_ms_by_operation": {op: quantiles_ms(h) for op, h in raw["by_op"].items()
                                        if scenario.workload.mix.get(op, 0) > 0},
        },
        "nodes": nodes,
        "tiers": {name: {"utilisation_mean": float(np.mean(t["util"])), "utilisation_max": max(t["util"]),
                         "throughput_rps": t["rps"], "latency_ms": quantiles_ms(t["hist"])}
                  for name, t in tiers.items()},
    }


def _replications(scenario: Scenario, n: int, progress_bar) -> list[dict]:
    workers = max(1, min(n, os.cpu_count() or 1))
    if workers == 1:  # in this process: a worker would import and load the compiled code again
        return [engine(scenario)(scenario, r, _after(progress_bar, r * scenario.simulation.duration_s))
                for r in range(n)]
    progress = mp.Array("d", n, lock=False)
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(progress,)) as pool:
        futures = [pool.submit(_run_one, scenario, r) for r in range(n)]
        while not all(f.done() for f in futures):
            if progress_bar:
                progress_bar(sum(progress))
            time.sleep(0.2)
        return [f.result() for f in futures]


def _after(progress_bar, done_s: float):
    """A replication's progress callback, counting on from the replications run before it."""
    if progress_bar is None:
        return None
    return lambda now: progress_bar(done_s + now)


def _mean_series(raws: list[dict]) -> dict:
    keys = ("arrivals_rps", "completions_rps", "failures_rps", "in_flight")
    series = {k: np.mean([r["series"][k] for r in raws], axis=0).tolist() for k in keys}
    series["latency_step_s"] = raws[0]["series"]["latency_step_s"]
    series["latency_ms_p50_p95_p99"] = np.nanmean(
        [r["series"]["latency_ms_p50_p95_p99"] for r in raws], axis=0).tolist()
    series["nodes"] = {name: {k: np.mean([r["series"]["nodes"][name][k] for r in raws], axis=0).tolist()
                              for k in ("utilisation", "queue")} for name in used_nodes(raws)}
    series["app_servers"] = np.mean([r["series"]["app_servers"] for r in raws], axis=0).tolist()
    return series


def used_nodes(raws: list[dict]) -> list[str]:
    """Nodes that served anything in some replication (spare app servers that never ran are left out)."""
    return [name for name in raws[0]["nodes"]
            if any(raw["nodes"][name]["throughput_rps"] or raw["nodes"][name]["utilisation"]
                   for raw in raws)]


def simulate(scenario: Scenario, progress_bar=None) -> tuple[list[dict], float]:
    """The raw figures of every replication, and the wall time they took."""
    started = time.time()
    raws = _replications(scenario, scenario.simulation.replications, progress_bar)
    return raws, time.time() - started


def report(scenario: Scenario, raws: list[dict], wall_s: float) -> dict:
    """The report (JSON-ready) of a scenario's replications."""
    sim = scenario.simulation
    summaries = [summarize(raw, scenario) for raw in raws]
    costs = [monthly_cost(scenario, raw["price_kinds"]) for raw in raws]
    cost = monthly_cost(scenario, {k: float(np.mean([raw["price_kinds"][k] for raw in raws]))
                                   for k in raws[0]["price_kinds"]})
    metrics = ci_tree([s["metrics"] for s in summaries])
    metrics["cost_usd_per_month"] = ci95([c["total_usd_per_month"] for c in costs])
    reasons = sorted({k for raw in raws for k in raw["fail_reasons"]})
    used = used_nodes(raws)
    nodes = ci_tree([{n: s["nodes"][n] for n in used} for s in summaries])
    for name, node in nodes.items():
        node.update({k: raws[0]["nodes"][name][k] for k in ("kind", "role", "capacity")})
    totals = [raw["totals"] | {"lb_in_system": raw["lb_in_system"]} for raw in raws]
    return {
        "tool": {"name": "sessionsim", "version": __version__, "engine": sim.engine},
        "scenario": resolved(scenario),
        "seed": sim.seed,
        "replications": sim.replications,
        "metrics": metrics,
        "failure_reasons": {k: ci95([raw["fail_reasons"].get(k, 0) for raw in raws]) for k in reasons},
        "nodes": nodes,
        "tiers": ci_tree([s["tiers"] for s in summaries]),
        "cost": cost,
        "objectives": _objectives(scenario, metrics),
        "conservation": totals,
        "series": _mean_series(raws),
        "run": {"wall_s": wall_s, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "simulated_requests": sum(t["arrived"] for t in totals),
                "simulated_requests_per_wall_s": sum(t["arrived"] for t in totals) / wall_s},
    }


def run(scenario: Scenario, progress_bar=None) -> dict:
    """Runs the scenario's replications; returns its report."""
    return report(scenario, *simulate(scenario, progress_bar))


def _objectives(scenario: Scenario, metrics: dict) -> dict:
    """Each objective against the 95% interval: met when the whole interval meets it, missed when
    none of it does. Carried throughput is met when its interval reaches the target: Poisson
    arrivals at exactly the target rate carry it within noise."""
    obj = scenario.objectives
    checks = {"p99_latency_ms": (metrics["latency_ms"]["p99"], obj.p99_latency_ms, "<="),
              "error_rate": (metrics["error_rate"], obj.error_rate, "<="),
              "throughput_rps": (metrics["throughput_rps"], obj.throughput_rps, ">=")}
    out = {}
    for name, (figure, target, op) in checks.items():
        if op == ">=":  # met when the interval reaches the target
            verdict = judge(figure, "<", target)
            verdict = {"holds": "missed", "fails": "met", "uncertain": "met"}.get(verdict, verdict)
        else:
            verdict = {"holds": "met", "fails": "missed"}.get(judge(figure, op, target), "uncertain")
        out[name] = {"target": target, "operator": op, "value": figure, "verdict": verdict}
    return out
