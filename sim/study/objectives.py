"""The scenario's objectives judged against a run's figures, by rules stated once (RULES).

A verdict is "met" only when the whole 95% interval meets the objective, "missed" when none of
it does, "uncertain" otherwise; and "not judged" when the run is not a steady state (its
averages depend on the run's length), or when there is no figure (nothing succeeded).
"""
from __future__ import annotations

from sim.study.report import Metrics, Objective, Stability, WorstWindow
from sim.study.stats import judge

RULES = {
    "p99_latency_ms": "met when the whole 95% interval of the p99 is at most the target",
    "mean_latency_ms": "met when the whole 95% interval of the mean latency is at most the "
                       "target (over the whole measured window, also when the load varies)",
    "error_rate": "met when the whole 95% interval of the error rate is at most the target",
    "throughput_rps": "met when the run offered the target (the interval of the offered load "
                      "reaches it) and carried it: the whole interval of the share of the "
                      "window's arrivals that completed in it is at least 1 - the error-rate "
                      "objective",
    "time_varying": "a load that varies is judged in its worst window (sim.study.stability): the p99 "
                    "objective by the share of requests slower than it (at most 1% <=> p99 within it)",
}


def _verdict(figure: dict, op: str, target: float) -> str:
    return {"holds": "met", "fails": "missed", "no data": "not judged"}.get(
        judge(figure, op, target), "uncertain")


def _throughput(offered: dict, carried: dict, target: float, error_rate: float) -> tuple[str, str]:
    reach = judge(offered, "<", target)  # "holds": the whole interval is below the target
    if reach == "holds":
        return "not judged", "the run offered less than the target"
    verdict = _verdict({"mean": 1 - carried["mean"],
                        "ci95": [None if v is None else 1 - v for v in carried["ci95"][::-1]]},
                       "<=", error_rate)
    return verdict, ""


def judge_objectives(scenario, metrics: Metrics, stability: Stability,
                     window: WorstWindow | None) -> dict[str, Objective]:
    """Each objective judged. `window`: the worst window's figures (with intervals) for a load
    that varies, else None."""
    obj = scenario.objectives
    source = window if window is not None else metrics
    p99 = metrics.latency_ms.p99
    out = {}
    if window is not None:
        slow = window.slower_than_p99_objective_share
        out["p99_latency_ms"] = dict(value=p99, verdict=_verdict(slow, "<=", 0.01), share_slower=slow)
    else:
        out["p99_latency_ms"] = dict(value=p99, verdict=_verdict(p99, "<=", obj.p99_latency_ms))
    out["p99_latency_ms"] |= dict(target=obj.p99_latency_ms, operator="<=")
    if out["p99_latency_ms"]["verdict"] == "not judged":
        out["p99_latency_ms"]["reason"] = "no request succeeded"
    out["error_rate"] = dict(target=obj.error_rate, operator="<=", value=source.error_rate,
                             verdict=_verdict(source.error_rate, "<=", obj.error_rate))
    if obj.throughput_rps:  # none set (0): nothing to judge
        verdict, reason = _throughput(source.offered_rps, source.carried_share,
                                      obj.throughput_rps, obj.error_rate)
        out["throughput_rps"] = dict(target=obj.throughput_rps, operator=">=",
                                     value=source.throughput_rps, verdict=verdict,
                                     offered_rps=source.offered_rps, reason=reason)
    if obj.mean_latency_ms is not None:
        mean = metrics.latency_ms.mean
        out["mean_latency_ms"] = dict(target=obj.mean_latency_ms, operator="<=", value=mean,
                                      verdict=_verdict(mean, "<=", obj.mean_latency_ms))
    for key, entry in out.items():
        varying = window is not None and key != "mean_latency_ms"
        entry["rule"] = RULES[key] + ("; " + RULES["time_varying"] if varying else "")
        if not stability.steady:
            entry["verdict"] = "not judged"
            entry["reason"] = "run not steady: " + "; ".join(stability.reasons)
    return {key: Objective(**entry) for key, entry in out.items()}


def undecided(objectives: dict[str, Objective]) -> list[str]:
    return [k for k, o in objectives.items() if o.verdict == "uncertain"]
