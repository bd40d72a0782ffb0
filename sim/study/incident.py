"""An incident's figures, measured from one replication's bins, events and samples.

Definitions (the README's, applied everywhere):
- detection: from the failure to the moment the mechanism named by the failure's detected_by
  notices it; unnamed, the first mechanism that does (an event marked "detected": +odown, a
  health check marking a server down, the VIP moving, the breaker opening, the database
  declared down) or, failing all, the first monitoring alert.
- recovery action: from the failure to the first corrective action (switch-master, server
  removed, VIP moved, replica promoted).
- impaired bin: a bin of bin_s in which the service is outside its objectives: more failed
  requests than the error-rate objective allows, more than 1% of completions slower than the
  p99 objective (so its p99 is above it), or requests arriving and none finishing.
- RTO: from the failure until the service is back within its objectives, no bin impaired
  through a sustained window (incidents.rto_sustain_s).
- impaired time: the impaired bins from the failure to the end of the run, added up. The
  document's "downtime" is judged by it: a trickle of successes does not make an incident free.
- outage: the longest span of bins after the failure in which requests arrive and none succeeds.
- degradation: throughput, error rate and p99 from the failure to recovery (the end of the run
  when there is none), beside the same figures before the failure (the baseline).
- RPO: acknowledged writes lost (each loss credited to one failure: owner()), and the span from
  the first of them to the failure.
- cost: revenue lost (the scenario's revenue per hour, spread over the requests arriving before
  the failure, times the requests that failed or were slower than the p99 objective during the
  incident) plus the app servers the autoscaler ran beyond those running at the failure, until
  the end of the incident, at their price.
"""
from __future__ import annotations

import math

import numpy as np

from sim.model.cost import SECONDS_PER_MONTH, unit_prices
from sim.engines.results import Bins, LostWrite, Replication
from sim.model.schema import Scenario
from sim.model.schema_failures import Failure


def _first(events, t0: float, marks: tuple, source: str | None = None) -> float:
    times = [e.t_s for e in events if e.t_s >= t0 and e.mark in marks and source in (None, e.source)]
    return min(times) - t0 if times else math.nan


def _detection(events, t0: float, source: str | None) -> float:
    if source is not None:
        return _first(events, t0, ("detected", "alerted"), source)
    mech = _first(events, t0, ("detected",))
    return mech if not math.isnan(mech) else _first(events, t0, ("alerted",))


def _longest_run(flags: np.ndarray) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def _recovered_bin(good: np.ndarray, need: int) -> int | None:
    """Index of the first bin that starts `need` good bins in a row, or None."""
    run = 0
    for i, flag in enumerate(good):
        run = run + 1 if flag else 0
        if run >= need:
            return i - need + 1
    return None


STORES = {"redis": ("redis_master", "redis_all", "redis-"), "postgres": ("pg_primary", "pg-")}


def owner(lost: LostWrite, failures: list[Failure]) -> Failure | None:
    """The failure a loss of acknowledged writes belongs to: the latest before it of those that
    can lose writes in its store (the first listed among failures at the same instant), so two
    failures at once are never both credited with the same writes."""
    able = [f for f in failures if f.at_s <= lost.t_s and (f.component == "all" or any(
        f.component.startswith(c) for c in STORES[lost.store]))]
    return max(able, key=lambda f: f.at_s, default=None)


def _write_share(scenario: Scenario) -> float:
    """The share of requests that write business data (refused in a read-only mode)."""
    ops = scenario.workload.operations
    return sum(f for op, f in scenario.workload.mix.items() if ops[op].db_writes)


def impaired(arrived, done, failed, slow, objectives) -> np.ndarray:
    """Per bin: is the service outside its objectives there (the module's definition)?"""
    over_errors = failed > objectives.error_rate * (done + failed)
    over_p99 = slow > 0.01 * done
    return over_errors | over_p99 | ((done + failed == 0) & (arrived > 0))


def _baseline(bins: Bins, i_from: int, i_to: int, width: float, hist) -> dict:
    done, failed = (float(np.sum(a[i_from:i_to])) for a in (bins.done, bins.failed))
    span = max(i_to - i_from, 1) * width
    return {"baseline_throughput_rps": done / span,
            "baseline_error_rate": failed / (done + failed) if done + failed else math.nan,
            "baseline_p99_ms": hist.quantile_s(0.99) * 1000}


def measure(raw: Replication, failure: Failure, scenario: Scenario) -> dict:
    """One replication's figures for one failure (NaN where a figure does not exist): the
    fields of sim.study.failure_entry.FailureEntry that get intervals."""
    bins, obj, inc = raw.bins, scenario.objectives, scenario.incidents
    width, t_fail = bins.bin_s, failure.at_s
    i0 = int(round(t_fail / width))
    arrived, done, failed, slow = (a[i0:] for a in (bins.arrived, bins.done, bins.failed, bins.slow))
    bad = impaired(arrived, done, failed, slow, obj)
    start = _recovered_bin(~bad, max(1, math.ceil(inc.rto_sustain_s / width)))
    rto_s = start * width if start is not None else math.nan
    end_s = t_fail + (rto_s if start is not None else len(arrived) * width)
    window_s = max(end_s - t_fail, width)
    t, latency = raw.incident_t_s, raw.incident_latency_s
    during = latency[(t >= t_fail) & (t < t_fail + window_s)]
    baseline_p99 = raw.baseline_hist.quantile_s(0.99)
    lost = [w for w in raw.lost_writes if owner(w, scenario.failures) is failure]
    n_window = int(math.ceil(window_s / width))
    pre = bins.arrived[int(scenario.simulation.warmup_s / width):i0]
    rate_rps = pre.sum() / (len(pre) * width) if len(pre) else arrived.sum() / (len(arrived) * width)
    lost_requests = failed.sum() + slow[:n_window].sum()  # failed, or slower than the p99 objective
    revenue_per_request = inc.revenue_usd_per_hour / 3600 / rate_rps if rate_rps else 0.0
    running = np.asarray(raw.series.app_servers, dtype=float)
    s0 = min(int(t_fail), len(running) - 1)
    extra_server_s = np.clip(running[s0:s0 + int(math.ceil(window_s))] - running[s0], 0, None).sum()
    infra_usd = extra_server_s * unit_prices(scenario).get("app_server", 0.0) / SECONDS_PER_MONTH
    p99_during = float(np.quantile(during, 0.99)) if during.size else math.nan
    done_in, failed_in = float(done[:n_window].sum()), float(failed[:n_window].sum())
    base = _baseline(bins, int(scenario.simulation.warmup_s / width), i0, width, raw.baseline_hist)
    return base | {
        "detection_s": _detection(raw.events, t_fail, failure.detected_by),
        "alert_s": _first(raw.events, t_fail, ("alerted",)),
        "action_s": _first(raw.events, t_fail, ("action",), failure.detected_by),
        "rto_s": rto_s,
        "impaired_s": float(bad.sum()) * width,
        "outage_s": _longest_run((done == 0) & (arrived > 0)) * width,
        "failed_requests": float(failed.sum()),
        "lost_writes": float(sum(w.count for w in lost)),
        "lost_writes_span_s": max((w.span_s for w in lost), default=0.0),
        "throughput_during_rps": done_in / window_s,
        "error_rate_during": failed_in / (done_in + failed_in) if done_in + failed_in else math.nan,
        "error_rate_beyond_writes_during": (failed_in / (done_in + failed_in) - _write_share(scenario)
                                            if done_in + failed_in else math.nan),
        "p99_during_ms": p99_during * 1000,
        "slowdown_x": p99_during / baseline_p99 if baseline_p99 > 0 else math.nan,
        "fallback_writes": float(raw.fallbacks),
        "revenue_lost_usd": float(lost_requests * revenue_per_request),
        "infrastructure_usd": float(infra_usd),
        "cost_usd": float(lost_requests * revenue_per_request + infra_usd),
    }

