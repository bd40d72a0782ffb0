"""Confidence intervals over independent replications."""
from __future__ import annotations

import math

import numpy as np
from scipy.special import stdtrit  # scipy.stats.t.ppf's own; scipy.stats takes 1 s to import


SHARES = ("error_rate", "error_rate_during", "_share", "_fraction", "utilisation")


def ci95(values, share: bool = False) -> dict:
    """Mean and Student-t 95% interval of per-replication values: {"mean": m, "ci95": [lo, hi]};
    for a quantity that cannot be negative the interval is clipped at zero, and a share (a
    fraction of requests or of time) at one."""
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if x.size == 0:
        return {"mean": None, "ci95": [None, None]}
    mean = float(x.mean())
    if x.size < 2:  # one replication gives no interval
        return {"mean": mean, "ci95": [None, None]}
    if np.all(x == x[0]):
        return {"mean": mean, "ci95": [mean, mean]}
    half = float(stdtrit(x.size - 1, 0.975) * x.std(ddof=1) / math.sqrt(x.size))
    low = mean - half
    if np.all(x >= 0):  # times, counts, rates and costs: the interval stops at zero
        low = max(low, 0.0)
    high = mean + half
    if share and np.all(x <= 1):
        high = min(high, 1.0)
    return {"mean": mean, "ci95": [low, high]}


def ci_tree(replicas: list, key: str = ""):
    """ci95 at every numeric leaf of a list of same-shaped nested dicts (shares known by the
    ending of their key, SHARES)."""
    first = replicas[0]
    if isinstance(first, dict):
        return {k: ci_tree([r[k] for r in replicas], k) for k in first}
    return ci95(replicas, share=key.endswith(SHARES))


def judge(figure: dict, op: str, value: float) -> str:
    """A claim "figure op value" against a {"mean", "ci95"} figure: "holds" when the whole
    interval satisfies it, "fails" when none of it does, else "uncertain"; with one replication
    (no interval) the mean alone decides; "no data" when there is no figure."""
    lo, hi = figure["ci95"]
    if lo is None:
        lo = hi = figure["mean"]
    if lo is None:
        return "no data"
    if op == "<":
        return "holds" if hi < value else ("fails" if lo >= value else "uncertain")
    if op == "<=":
        return "holds" if hi <= value else ("fails" if lo > value else "uncertain")
    raise ValueError(f"unknown operator {op}")
