"""Measurements in interleaved rounds: each figure once per round, every figure in every round,
so that a burst of host noise hits all of them alike; a figure is the mean over the rounds with
its 95% interval (Student t over the rounds' values). Claims are judged round by round.

In calibration.json a measured figure carries `rounds`: {"throughput_ops_s": {"mean", "ci95",
"values"}, "mean_ms": ..., "p99_ms": ...}; `round_view(cal, k)` is the calibration as round k
alone measured it (the figures a claim's metric reads), so that any metric computed from a
calibration has one value per round, and so an interval.
"""
from __future__ import annotations

import copy

import numpy as np
from scipy.stats import t as student_t

ROUND_FIGURES = ("throughput_ops_s", "mean_ms", "p99_ms")


def interval(values: list[float], digits: int = 4, floor: float | None = 0.0,
             ceiling: float | None = None) -> dict:
    """{"mean", "ci95", "values"}: the 95% interval of the mean over the rounds. Every figure
    measured here is a rate, a time or a count: by default the interval stops at zero."""
    x = np.asarray([v for v in values if v is not None], dtype=float)
    if x.size == 0:
        return {"mean": None, "ci95": None, "values": []}
    mean = float(x.mean())
    half = (float(student_t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
            if x.size > 1 else float("inf"))
    low = mean - half if floor is None else max(mean - half, floor)
    high = mean + half if ceiling is None else min(mean + half, ceiling)
    ci = [round(low, digits), round(high, digits)] if np.isfinite(half) else None
    return {"mean": round(mean, digits), "ci95": ci,
            "values": [round(float(v), digits) for v in x]}


def per_round(results: list[dict]) -> dict:
    """The `rounds` entry of a figure from its run_load results, one per round."""
    def p99(r):
        return float(np.percentile(r["latencies_s"], 99)) * 1000 if r["ops"] else None

    def mean(r):
        return float(r["latencies_s"].mean()) * 1000 if r["ops"] else None

    out = {"throughput_ops_s": interval([r["throughput_ops_s"] for r in results], 1),
           "mean_ms": interval([mean(r) for r in results]),
           "p99_ms": interval([p99(r) for r in results])}
    if all("cpu_s" in r and r["ops"] for r in results):
        out["server_cpu_per_op_ms"] = interval([r["cpu_s"] / r["ops"] * 1000 for r in results], 5)
    return out


def pooled(results: list[dict]) -> dict:
    """One run_load result from a figure's rounds: latencies together, throughput the mean."""
    out = {"ops": sum(r["ops"] for r in results),
           "elapsed_s": sum(r["elapsed_s"] for r in results),
           "throughput_ops_s": float(np.mean([r["throughput_ops_s"] for r in results])),
           "latencies_s": np.concatenate([r["latencies_s"] for r in results]),
           "client_cpu_s": np.concatenate([r["client_cpu_s"] for r in results])}
    if all("cpu_s" in r for r in results):
        out["cpu_s"] = sum(r["cpu_s"] for r in results)
    return out


def count(cal: dict) -> int:
    return int((cal.get("settings") or {}).get("rounds") or 1)


def _by_concurrency_entries(cal: dict):
    for part in ("redis", "postgres"):
        for entry in ((cal.get(part) or {}).get("operations") or {}).values():
            for mode in ("pipelined", "unpipelined"):
                for figures in ((entry.get(mode) or {}).get("by_concurrency") or {}).values():
                    yield figures
            yield entry


def round_view(cal: dict, k: int) -> dict:
    """The calibration with every per-round figure replaced by round k's value."""
    view = copy.deepcopy(cal)
    bench = (view.get("redis") or {}).get("capacity") or {}
    if "rounds" in bench:
        bench["commands_s"] = bench["rounds"]["commands_s"]["values"][k]
    for figures in _by_concurrency_entries(view):
        rounds = figures.get("rounds")
        if not rounds:
            continue
        if "throughput_ops_s" in figures and rounds.get("throughput_ops_s"):
            figures["throughput_ops_s"] = rounds["throughput_ops_s"]["values"][k]
            figures["latency_ms"] = {**figures["latency_ms"],
                                     "mean": rounds["mean_ms"]["values"][k],
                                     "p99": rounds["p99_ms"]["values"][k]}
            if "server_cpu_per_op_ms" in rounds:
                figures["server_cpu_per_op_ms"] = rounds["server_cpu_per_op_ms"]["values"][k]
        for name in ("service_time_ms", "saturation_throughput_ops_s"):
            if name in rounds and isinstance(figures.get(name), dict):
                figures[name] = {**figures[name], "mean": rounds[name]["values"][k]}
            elif name in rounds:
                figures[name] = rounds[name]["values"][k]
    return view
