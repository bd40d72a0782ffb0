"""Confidence intervals over independent replications."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats


def ci95(values) -> dict:
    """Mean and Student-t 95% interval of per-replication values: {"mean": m, "ci95": [lo, hi]}."""
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if x.size == 0:
        return {"mean": None, "ci95": [None, None]}
    mean = float(x.mean())
    if x.size < 2:  # one replication gives no interval
        return {"mean": mean, "ci95": [None, None]}
    if np.all(x == x[0]):
        return {"mean": mean, "ci95": [mean, mean]}
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return {"mean": mean, "ci95": [mean - half, mean + half]}


def ci_tree(replicas: list):
    """ci95 at every numeric leaf of a list of same-shaped nested dicts."""
    first = replicas[0]
    if isinstance(first, dict):
        return {k: ci_tree([r[k] for r in replicas]) for k in first}
    return ci95(replicas)
