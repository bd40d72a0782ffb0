"""Is a run a steady state whose averages mean something? Offered load, saturation, a growing
backlog; and, for a load that varies, its worst window.

A queue past saturation never settles: its averages depend on the run's length, not on the
system. Two symptoms, each measured per replication from counts the run keeps anyway:
- saturated: a node's utilisation at SATURATED (98%) or more, over the measured window or, when
  the load varies, over any SLIDING_S window of the per-second series;
- backlog growing: requests in the system at the end of the window exceed those at its start by
  more than BACKLOG_SHARE (1%) of the window's arrivals. In a steady state the two counts differ
  by the fluctuation of the number in system (a few times L = lambda W, tiny beside 1% of the
  arrivals); past saturation the difference grows as (lambda - mu) x the window.
"""
from __future__ import annotations

import numpy as np

from sim.study.report import Backlog, BusiestNode, Stability
from sim.engines.results import Bins, Replication

COUNTS = ("arrived", "done", "failed", "slow")  # Bins' counts per bin
SATURATED = 0.98
BACKLOG_SHARE = 0.01
SLIDING_S = 60


def _window_bins(raw: Replication, warmup_s: float) -> tuple[int, Bins]:
    bins = raw.bins
    return int(round(warmup_s / bins.bin_s)), bins


def offered_rps(raw: Replication, warmup_s: float) -> float:
    """Arrivals per second in the measured window: the load the run offered."""
    i0, bins = _window_bins(raw, warmup_s)
    return float(np.sum(bins.arrived[i0:]) / raw.window_s)


def backlog(raw: Replication, warmup_s: float) -> tuple[int, int, int]:
    """(in system at the window's start, at its end, arrivals in the window), counted from the bins."""
    i0, bins = _window_bins(raw, warmup_s)
    net = np.cumsum(np.asarray(bins.arrived) - bins.done - bins.failed)
    start = int(net[i0 - 1]) if i0 > 0 else 0
    return start, int(net[-1]), int(np.sum(bins.arrived[i0:]))


def _busiest_second(raws: list[Replication], warmup_s: float, width: int) -> tuple[str, float, float]:
    """(node, utilisation, start second) of the busiest `width`-second stretch of any node, over
    the replications' mean per-second utilisation."""
    best = ("", 0.0, 0.0)
    first = int(warmup_s)
    for name in raws[0].series.nodes:
        u = np.mean([r.series.nodes[name].utilisation for r in raws], axis=0)[first:]
        if u.size == 0:
            continue
        w = min(width, u.size)
        sums = np.convolve(u, np.ones(w), mode="valid") / w
        i = int(np.argmax(sums))
        if sums[i] > best[1]:
            best = (name, float(sums[i]), float(first + i))
    return best


def assess(raws: list[Replication], warmup_s: float, time_varying: bool) -> Stability:
    """Steady or not, and why, over the replications."""
    reasons = []
    util = {n: float(np.mean([r.nodes[n].utilisation for r in raws])) for n in raws[0].nodes}
    node = max(util, key=util.get)
    if util[node] >= SATURATED:
        reasons.append(f"saturated: {node} {util[node]:.0%} busy")
    elif time_varying:
        name, u, at = _busiest_second(raws, warmup_s, SLIDING_S)
        if u >= SATURATED:
            reasons.append(f"saturated: {name} {u:.0%} busy from {at:g} s to {at + SLIDING_S:g} s")
    counts = np.array([backlog(r, warmup_s) for r in raws], dtype=float)
    start, end, arrived = counts.mean(axis=0)
    growth = end - start
    if growth > BACKLOG_SHARE * max(arrived, 1):
        reasons.append(f"backlog growing: +{growth:,.0f} requests in the system over the window "
                       f"({growth / arrived:.0%} of its arrivals)")
    return Stability(
        steady=not reasons, reasons=reasons, time_varying=time_varying,
        offered_rps=float(np.mean([offered_rps(r, warmup_s) for r in raws])),
        backlog=Backlog(float(start), float(end), float(arrived)),
        busiest_node=BusiestNode(node, util[node]),
        rule=f"not steady when a node is at least {SATURATED:.0%} busy (over the window, or any "
             f"{SLIDING_S} s of it when the load varies) or the requests in the system grow by "
             f"more than {BACKLOG_SHARE:.0%} of the window's arrivals")


def window_length_s(duration_s: float) -> float:
    """The window's length: an hour in a long run (the peak hour of a day), else a minute."""
    return 3600.0 if duration_s >= 6 * 3600 else float(SLIDING_S)


def worst_window(raws: list[Replication], warmup_s: float, duration_s: float, error_rate: float) -> dict:
    """Per replication, the figures of the worst window: the one furthest outside the objectives
    (its error rate against `error_rate`, its share slower than the p99 objective against 1%)
    when any window is outside them, else the one with the most arrivals. One window for all
    replications, chosen on their mean, so that the intervals compare like with like."""
    width_s = window_length_s(duration_s - warmup_s)
    i0, bins = _window_bins(raws[0], warmup_s)
    n = max(1, int(round(width_s / bins.bin_s)))
    mean = {k: np.mean([getattr(r.bins, k)[i0:] for r in raws], axis=0) for k in COUNTS}
    n = min(n, mean["arrived"].size)
    total = {k: np.convolve(v, np.ones(n), mode="valid") for k, v in mean.items()}
    outside = np.maximum(total["failed"] / np.maximum(total["done"] + total["failed"], 1) / max(error_rate, 1e-9),
                         total["slow"] / np.maximum(total["done"], 1) / 0.01)
    by_objectives = bool(outside.max() > 1)
    a = i0 + int(np.argmax(outside if by_objectives else total["arrived"]))
    start_s, span_s = a * bins.bin_s, n * bins.bin_s
    per_rep = []
    for r in raws:
        got = {k: float(np.sum(getattr(r.bins, k)[a:a + n])) for k in COUNTS}
        s0, s1 = int(start_s), max(int(start_s) + 1, int(start_s + span_s))
        top = max(float(np.mean(s.utilisation[s0:s1])) for s in r.series.nodes.values())
        finished = got["done"] + got["failed"]
        per_rep.append({"offered_rps": got["arrived"] / span_s, "throughput_rps": got["done"] / span_s,
                        "error_rate": got["failed"] / finished if finished else 0.0,
                        "slower_than_p99_objective_share": got["slow"] / got["done"] if got["done"] else 1.0,
                        "carried_share": got["done"] / got["arrived"] if got["arrived"] else 1.0,
                        "bottleneck_utilisation": top,
                        "headroom_x": 1 / top if top else float("inf")})
    return {"start_s": start_s, "length_s": span_s, "replications": per_rep,
            "chosen_by": "furthest outside the objectives" if by_objectives else "with the most arrivals"}
