"""Annual availability by Monte Carlo over simulated years, from failure rates and repair times
(sim/model/reliability.py) and what the failure matrix measured each failure costs.

Each node alternates up (exponential, mean MTBF) and down (exponential, mean MTTR), from a
fresh start. A failure of a kind costs the matrix row's measured impaired time and failed
requests: every failure (`hits: every`) or the share 1/count of them that hit the role holder
(`hits: role`). A second failure before the first is repaired is another failover, costed by the
same measured row (simulated). When every node of a kind is down at once, the whole overlap
counts as impaired, its requests as failed (bounded, not simulated). A kind without a matrix row
is impaired whenever all its nodes are down. A year's impaired time is the sum over its
failures (overlapping incidents counted twice: an upper bound).

The matrix's figures come with 95% intervals: the years are costed with the low ends, the means
and the high ends (the same failures each time), and every figure's interval spans the Monte
Carlo interval of the low end to that of the high end.
"""
from __future__ import annotations

import math

import numpy as np

from sim.study.stats import ci95

YEAR_H = 8760.0
YEAR_S = YEAR_H * 3600
ENDS = ("lo", "mean", "hi")


def _cycles(rng, years: int, mtbf_h: float, mttr_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Failure and repair times (hours) of one node, shape (years, cycles), covering a year."""
    k = int(YEAR_H / (mtbf_h + mttr_h) * 3) + 8
    while True:
        up, down = rng.exponential(mtbf_h, (years, k)), rng.exponential(mttr_h, (years, k))
        fail = np.cumsum(up + down, axis=1) - down
        if np.all(fail[:, -1] >= YEAR_H):
            return fail, fail + down
        k *= 2


def _intervals(fail_row, end_row) -> list[tuple[float, float]]:
    keep = fail_row < YEAR_H
    return [(f, min(e, YEAR_H)) for f, e in zip(fail_row[keep], end_row[keep])]


def _intersect(a: list, b: list) -> list:
    """The intersection of two sorted lists of disjoint intervals."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _all_down_h(nodes: list) -> np.ndarray:
    """Per year, the hours in which every node of the kind is down together."""
    fails, ends = zip(*nodes)
    years = fails[0].shape[0]
    out = np.zeros(years)
    every = np.all([f[:, 0] < YEAR_H for f in fails], axis=0)  # each node failed this year
    for y in np.flatnonzero(every):
        common = _intervals(fails[0][y], ends[0][y])
        for f, e in zip(fails[1:], ends[1:]):
            common = _intersect(common, _intervals(f[y], e[y]))
            if not common:
                break
        out[y] = sum(hi - lo for lo, hi in common)
    return out


def simulate_kind(rng, years: int, kind: dict) -> dict:
    """Per year: the failures that cost the kind's matrix row, and the hours all its nodes are down."""
    nodes = [_cycles(rng, years, kind["mtbf_h"]["value"], kind["mttr_h"]["value"])
             for _ in range(kind["count"])]
    failures = sum((f < YEAR_H).sum(axis=1) for f, _ in nodes)
    share = 1.0 if kind["hits"] == "every" else 1.0 / kind["count"]
    hits = rng.binomial(failures, share) if kind["failure"] else np.zeros(years, dtype=int)
    return {"failures": failures, "hits": hits, "all_down_h": _all_down_h(nodes)}


def _cost(entry: dict | None, key: str) -> dict:
    """A matrix figure at its interval's low end, mean and high end (0 without a row)."""
    if entry is None:
        return dict.fromkeys(ENDS, 0.0)
    figure = entry[key]
    mean = figure["mean"] or 0.0
    lo, hi = (mean if v is None else v for v in figure["ci95"])
    return {"lo": lo, "mean": mean, "hi": hi}


def kind_costs(kinds: dict, matrix: dict) -> dict:
    """Per node kind, the impaired seconds and failed requests one costly failure brings."""
    rows = {e["name"]: e for e in matrix.get("failures", [])}
    out = {}
    for name, kind in kinds.items():
        row = rows.get(kind["failure"]) if kind["failure"] else None
        if kind["failure"] and row is None:
            raise KeyError(f"node kind {name}: the failure matrix has no row '{kind['failure']}'")
        out[name] = {"impaired_s": _cost(row, "impaired_s"), "failed_requests": _cost(row, "failed_requests")}
    return out


def _interval(samples: dict) -> dict:
    """{"mean", "ci95"}: the mean-cost years' mean, from the low-cost years' lower to the
    high-cost years' upper Monte Carlo bound."""
    lo, mean, hi = (ci95(samples[e]) for e in ENDS)
    return {"mean": mean["mean"], "ci95": [lo["ci95"][0], hi["ci95"][1]]}


def _share_interval(hits: np.ndarray) -> tuple[float, float]:
    """Wilson 95% interval of a proportion."""
    n, p, z = hits.size, hits.mean(), 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def naive_product(kinds: dict, members: list[str]) -> float:
    """The calculators' availability: each kind up while one of its nodes is, failover free."""
    a = 1.0
    for name in members:
        k = kinds[name]
        node = k["mtbf_h"]["value"] / (k["mtbf_h"]["value"] + k["mttr_h"]["value"])
        a *= 1 - (1 - node) ** k["count"]
    return a


def _service(members, per_kind, costs, offered_rps, target, kinds) -> dict:
    impaired = {e: sum(per_kind[k]["hits"] * costs[k]["impaired_s"][e] + per_kind[k]["all_down_h"] * 3600
                       for k in members) for e in ENDS}
    failed = {e: sum(per_kind[k]["hits"] * costs[k]["failed_requests"][e]
                     + per_kind[k]["all_down_h"] * 3600 * offered_rps for k in members) for e in ENDS}
    minutes = {e: impaired[e] / 60 for e in ENDS}
    budget_min = (1 - target) * YEAR_H * 60
    t = _interval(minutes)
    # the costliest years give the interval's low end, the cheapest its high end
    lo_p, hi_p = _share_interval(minutes["hi"] <= budget_min)[0], _share_interval(minutes["lo"] <= budget_min)[1]
    avail = {"mean": 1 - t["mean"] / (YEAR_H * 60), "ci95": [1 - t["ci95"][1] / (YEAR_H * 60),
                                                              1 - t["ci95"][0] / (YEAR_H * 60)]}
    f = _interval(failed)
    requests = offered_rps * YEAR_S
    by_kind = {k: float(np.mean(per_kind[k]["hits"] * costs[k]["impaired_s"]["mean"]
                                + per_kind[k]["all_down_h"] * 3600)) / 60 for k in members}
    return {
        "target": target, "budget_min_per_year": budget_min,
        "impaired_min_per_year": t,
        "impaired_min_year_quantiles": {q: float(np.quantile(minutes["mean"], float(q[1:]) / 100))
                                        for q in ("p50", "p90", "p99")},
        "availability": avail,
        "request_availability": {"mean": 1 - f["mean"] / requests,
                                 "ci95": [1 - f["ci95"][1] / requests, 1 - f["ci95"][0] / requests]},
        "p_year_meets_target": {"mean": float(np.mean(minutes["mean"] <= budget_min)), "ci95": [lo_p, hi_p]},
        "budget_share_by_kind": {k: m / budget_min for k, m in by_kind.items()},
        "impaired_min_per_year_by_kind": by_kind,
        "naive_product": naive_product(kinds, members),
        "verdict": verdict(avail, target),
    }


def verdict(figure: dict, target: float) -> str:
    """"availability >= target": holds when the whole interval meets it, fails when none does."""
    lo, hi = figure["ci95"]
    return "holds" if lo >= target else ("fails" if hi < target else "uncertain")


def model(reliability: dict, matrix: dict, targets: dict, years: int = 20_000, seed: int = 1) -> dict:
    """Each service's annual availability (reliability: sim.model.reliability.load; matrix: a failure
    matrix report; targets: {service: availability})."""
    kinds = reliability["node_kinds"]
    costs = kind_costs(kinds, matrix)
    streams = np.random.SeedSequence(seed).spawn(len(kinds))
    per_kind = {name: simulate_kind(np.random.default_rng(s), years, kind)
                for (name, kind), s in zip(kinds.items(), streams)}
    offered_rps = matrix["metrics"]["offered_rps"]["mean"]
    services = {s: _service(m, per_kind, costs, offered_rps, targets.get(s, 0.0), kinds)
                for s, m in reliability["services"].items()}
    return {"reliability": reliability["name"], "years": years, "seed": seed,
            "offered_rps": offered_rps, "failure_costs": costs,
            "failures_per_year": {k: float(v["failures"].mean()) for k, v in per_kind.items()},
            "services": services}
