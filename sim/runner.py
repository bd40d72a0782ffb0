"""Replications on independent streams, in parallel processes, reduced to figures with 95% CIs."""
from __future__ import annotations

import gc
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from sim import __version__, stability
from sim.cost import monthly_cost
from sim.engine import run_replication
from sim.run_setup import MONTH_FROM_S
from sim.histogram import LogHistogram, floor_interval
from sim.metrics import QUANTILES, quantiles_ms
from sim.objectives import judge_objectives, undecided
from sim.scenario import resolved
from sim.schema import Scenario
from sim.stats import ci95, ci_tree

_progress = None  # shared array of simulated seconds per replication, set in each worker
_executor = None  # sim.executor.Executor: when set, replications run there (use_executor)


def use_executor(executor):
    """Runs every later batch of replications on `executor` (None: this machine's pool again);
    returns the one used before."""
    global _executor
    before, _executor = _executor, executor
    return before


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
            "redis_memory_mb": _memory_mb(scenario, logins),
            "latency_ms_by_operation": {op: quantiles_ms(h) for op, h in raw["by_op"].items()
                                        if scenario.workload.mix.get(op, 0) > 0},
        },
        "nodes": nodes,
        "tiers": {name: {"utilisation_mean": float(np.mean(t["util"])), "utilisation_max": max(t["util"]),
                         "throughput_rps": t["rps"], "latency_ms": quantiles_ms(t["hist"])}
                  for name, t in tiers.items()},
    }


def _replications(scenario: Scenario, start: int, n: int, progress_bar) -> list[dict]:
    """Replications start .. start + n - 1 (each its own random streams, whichever runs it)."""
    workers = max(1, min(n, os.cpu_count() or 1))
    done_s = start * scenario.simulation.duration_s
    if workers == 1:  # in this process: a worker would import and load the compiled code again
        step_s = scenario.simulation.duration_s
        return [engine(scenario)(scenario, r, _after(progress_bar, done_s + i * step_s))
                for i, r in enumerate(range(start, start + n))]
    progress = mp.Array("d", start + n, lock=False)
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(progress,)) as pool:
        futures = [pool.submit(_run_one, scenario, r) for r in range(start, start + n)]
        while not all(f.done() for f in futures):
            if progress_bar:
                progress_bar(done_s + sum(progress))
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


def simulate(scenario: Scenario, progress_bar=None, start: int = 0,
             n: int | None = None) -> tuple[list[dict], float]:
    """The raw figures of replications start .. start + n - 1 (n: the scenario's replications),
    and the wall time they took."""
    started = time.time()
    n = n or scenario.simulation.replications
    raws = (_executor.replications(scenario, start, n) if _executor
            else _replications(scenario, start, n, progress_bar))
    return raws, time.time() - started


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


def until_decided(scenario: Scenario) -> bool:
    sim = scenario.simulation
    return scenario.incidents.matrix if sim.until_decided is None else sim.until_decided


def sequential(scenario: Scenario, judge_raws, progress_bar=None, more=None):
    """Replications in batches of simulation.replications until judge_raws(raws, wall_s) names no
    undecided verdict, or simulation.max_replications have run (when until_decided is on).
    Returns (raws, wall_s, what judge_raws last returned: (result, undecided names)).
    `more(start, n)`: the progress callback of a later batch, counting from its own start."""
    sim = scenario.simulation
    raws, wall_s = simulate(scenario, progress_bar)
    result, open_ = judge_raws(raws, wall_s)
    while until_decided(scenario) and open_ and len(raws) < sim.max_replications:
        start, n = len(raws), min(sim.replications, sim.max_replications - len(raws))
        bar = more(start, n) if more else None
        more_raws, w = simulate(scenario, bar and (lambda done_s: bar(done_s - start * sim.duration_s)),
                                start=start, n=n)
        raws, wall_s = raws + more_raws, wall_s + w
        result, open_ = judge_raws(raws, wall_s)
    return raws, wall_s, result, open_


def batches(scenario: Scenario) -> int:
    """How many batches of replications one sequential run makes at most."""
    sim = scenario.simulation
    return 1 + (-(-(sim.max_replications - sim.replications) // sim.replications)
                if until_decided(scenario) else 0)


def run(scenario: Scenario, progress_bar=None, more=None) -> dict:
    """Runs the scenario's replications (more while a verdict is undecided, when asked); returns
    its report."""
    return run_with_raws(scenario, progress_bar, more)[0]


def run_with_raws(scenario: Scenario, progress_bar=None, more=None) -> tuple[dict, list[dict]]:
    """run(), and the raw figures of every replication."""
    def judged(raws, wall_s):
        rep = report(scenario, raws, wall_s)
        return rep, undecided(rep["objectives"])
    raws, _, rep, open_ = sequential(scenario, judged, progress_bar, more)
    rep["sequential"] = {"until_decided": until_decided(scenario), "ran": len(raws),
                         "minimum": scenario.simulation.replications,
                         "maximum": scenario.simulation.max_replications, "undecided": open_}
    return rep, raws
