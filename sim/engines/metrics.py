"""What a replication records: counts per time bin, streaming latency histograms, incident samples."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from sim.engines.histogram import LogHistogram
from sim.engines.results import LoggedRequest

QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99, "p999": 0.999}
INCIDENT_SPAN_S = 600.0  # around the first failure, every completion's latency is kept this long
INCIDENT_LEAD_S = 10.0   # starting this long before it


class Recorder:
    """Counts every request in, done or failed; latencies count from the end of the warm-up.

    Counts go into bins of bin_s (0.1 s by default), fine enough to time a failover; `slow` counts
    completions over the scenario's p99 objective, so p99 <= objective in a bin iff slow <= 1%.
    """

    def __init__(self, duration_s: float, warmup_s: float, op_names: list[str], step_s: float,
                 bin_s: float, slow_s: float, failure_at_s: float | None, log_requests: int = 0):
        self.warmup_s, self.duration_s, self.bin_s, self.slow_s = warmup_s, duration_s, bin_s, slow_s
        bins = math.ceil(duration_s / bin_s) + 1
        self.arrived, self.done, self.failed, self.slow = ([0] * bins for _ in range(4))
        self.fail_reasons: Counter = Counter()
        self.latency = LogHistogram()  # end to end, successful requests, after warm-up
        self.by_op = {name: LogHistogram() for name in op_names}
        self.session_writes = 0  # acknowledged, after warm-up
        self.fallbacks = 0       # session calls sent to PostgreSQL by the circuit breaker
        self.completed, self.latency_s = 0, 0.0  # all completions, warm-up included (autoscaler)
        self.step_s = step_s
        self._window = LogHistogram()  # latencies of the current step, for percentiles over time
        self.window_quantiles: list[list[float]] = []
        self.failure_at_s = failure_at_s
        self.incident_from_s = None if failure_at_s is None else max(0.0, failure_at_s - INCIDENT_LEAD_S)
        self.baseline = LogHistogram()  # latencies after warm-up and before the first failure
        self.incident_t: list[float] = []
        self.incident_latency: list[float] = []
        self.n_arrived, self.log_n = 0, log_requests  # the first log_n requests are logged
        self.request_log: list[dict] = []

    def arrive(self, now: float, op: str) -> int:
        """Counts an arrival; returns its number (in the order of arrival)."""
        self.arrived[int(now / self.bin_s)] += 1
        rid, self.n_arrived = self.n_arrived, self.n_arrived + 1
        if rid < self.log_n:
            self.request_log.append({"arrived_s": now, "ended_s": None, "op": op, "outcome": None,
                                     "app": None})
        return rid

    def routed(self, rid: int, app):
        """The app server the balancer sent a logged request to (the last, after retries)."""
        if rid < self.log_n:
            self.request_log[rid]["app"] = app and app.name

    def ended(self, rid: int, now: float, outcome: str):
        """A logged request's end: "ok", or its failure reason."""
        if rid < self.log_n:
            self.request_log[rid].update(ended_s=now, outcome=outcome)

    def complete(self, op: str, t0: float, now: float, session_write: bool):
        b = int(now / self.bin_s)
        self.done[b] += 1
        latency = now - t0
        self.completed += 1
        self.latency_s += latency
        if latency > self.slow_s:
            self.slow[b] += 1
        self._window.record(latency)
        if now >= self.warmup_s:
            self.latency.record(latency)
            self.by_op[op].record(latency)
            self.session_writes += session_write
            if self.failure_at_s is None or now < self.failure_at_s:
                self.baseline.record(latency)
        if self.incident_from_s is not None and \
                self.incident_from_s <= now < self.incident_from_s + INCIDENT_SPAN_S:
            self.incident_t.append(now)
            self.incident_latency.append(latency)

    def fail(self, reason: str, now: float):
        self.failed[int(now / self.bin_s)] += 1
        if now >= self.warmup_s:
            self.fail_reasons[reason] += 1

    def close_window(self):
        """Called every step_s: p50/p95/p99 of the latencies completed in the step."""
        h = self._window
        self.window_quantiles.append([h.quantile_s(q) * 1000 for q in (0.5, 0.95, 0.99)])
        self._window = LogHistogram()

    def recorded(self) -> "Recorded":
        """What the recorder holds at the run's end."""
        arrived, done, failed, slow = (np.asarray(getattr(self, k)) for k in
                                       ("arrived", "done", "failed", "slow"))
        return Recorded(
            duration_s=self.duration_s, bin_s=self.bin_s, arrived=arrived, done=done,
            failed=failed, slow=slow, fail_reasons=dict(self.fail_reasons), latency=self.latency,
            baseline=self.baseline, by_op=self.by_op, step_s=self.step_s,
            window_quantiles_ms=self.window_quantiles,
            incident_t_s=np.asarray(self.incident_t, dtype=float),
            incident_latency_s=np.asarray(self.incident_latency, dtype=float),
            session_writes=self.session_writes, fallbacks=self.fallbacks,
            request_log=tuple(LoggedRequest(**r) for r in self.request_log))


@dataclass(frozen=True)
class Recorded:
    """A replication's records at its end, whichever engine kept them (Recorder's fields)."""
    duration_s: float
    bin_s: float
    arrived: np.ndarray  # requests per bin of bin_s, warm-up included
    done: np.ndarray
    failed: np.ndarray
    slow: np.ndarray     # completions slower than the p99 objective
    fail_reasons: dict[str, int]  # after the warm-up
    latency: LogHistogram
    baseline: LogHistogram
    by_op: dict[str, LogHistogram]
    step_s: float
    window_quantiles_ms: list[list[float]]  # p50, p95, p99 of each step of step_s
    incident_t_s: np.ndarray        # completions around the first failure, in time order
    incident_latency_s: np.ndarray
    session_writes: int
    fallbacks: int
    request_log: tuple[LoggedRequest, ...] = ()

    def totals(self) -> dict:
        """Counts over the whole run: in = done + failed + in flight."""
        arrived, done, failed = (int(np.sum(a)) for a in (self.arrived, self.done, self.failed))
        return {"arrived": arrived, "completed": done, "failed": failed,
                "in_flight": arrived - done - failed}

    def series(self) -> dict:
        """Per-second series of the requests, and the latency percentiles of each step."""
        per = max(1, round(1 / self.bin_s))
        seconds = math.ceil(self.duration_s) + 1

        def per_second(counts):
            a = np.pad(counts, (0, max(0, seconds * per - len(counts))))[:seconds * per]
            return a.reshape(seconds, per).sum(axis=1)
        arrived, done, failed = (per_second(c) for c in (self.arrived, self.done, self.failed))
        in_flight = np.cumsum(arrived) - np.cumsum(done) - np.cumsum(failed)
        return {"arrivals_rps": arrived.tolist(), "completions_rps": done.tolist(),
                "failures_rps": failed.tolist(), "in_flight": in_flight.tolist(),
                "latency_step_s": self.step_s,
                "latency_ms_p50_p95_p99": self.window_quantiles_ms}


def quantiles_ms(h: LogHistogram) -> dict:
    return {name: h.quantile_s(q) * 1000 for name, q in QUANTILES.items()} | {"mean": h.mean_s() * 1000}
