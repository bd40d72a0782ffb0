"""What a replication records: per-second counts, streaming latency histograms, node integrals."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from sim.histogram import LogHistogram

QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99, "p999": 0.999}


class Recorder:
    """Counts every request in, done or failed; latencies count from the end of the warm-up."""

    def __init__(self, duration_s: float, warmup_s: float, op_names: list[str], step_s: float):
        self.warmup_s, self.duration_s = warmup_s, duration_s
        seconds = math.ceil(duration_s) + 1
        self.arrived = [0] * seconds
        self.done = [0] * seconds
        self.failed = [0] * seconds
        self.fail_reasons: Counter = Counter()
        self.latency = LogHistogram()  # end to end, successful requests, after warm-up
        self.by_op = {name: LogHistogram() for name in op_names}
        self.session_writes = 0  # acknowledged, after warm-up
        self.step_s = step_s
        self._window = LogHistogram()  # latencies of the current step, for percentiles over time
        self.window_quantiles: list[list[float]] = []

    def arrive(self, now: float):
        self.arrived[int(now)] += 1

    def complete(self, op: str, t0: float, now: float, session_write: bool):
        self.done[int(now)] += 1
        latency = now - t0
        self._window.record(latency)
        if now >= self.warmup_s:
            self.latency.record(latency)
            self.by_op[op].record(latency)
            self.session_writes += session_write

    def fail(self, reason: str, now: float):
        self.failed[int(now)] += 1
        if now >= self.warmup_s:
            self.fail_reasons[reason] += 1

    def close_window(self):
        """Called every step_s: p50/p95/p99 of the latencies completed in the step."""
        h = self._window
        self.window_quantiles.append([h.quantile_s(q) * 1000 for q in (0.5, 0.95, 0.99)])
        self._window = LogHistogram()

    def totals(self) -> dict:
        """Counts over the whole run up to until_s: in = done + failed + in flight."""
        arrived, done, failed = (int(sum(a)) for a in (self.arrived, self.done, self.failed))
        return {"arrived": arrived, "completed": done, "failed": failed,
                "in_flight": arrived - done - failed}

    def series(self) -> dict:
        arrived, done, failed = (np.asarray(a) for a in (self.arrived, self.done, self.failed))
        in_flight = np.cumsum(arrived) - np.cumsum(done) - np.cumsum(failed)
        return {"arrivals_rps": arrived.tolist(), "completions_rps": done.tolist(),
                "failures_rps": failed.tolist(), "in_flight": in_flight.tolist(),
                "latency_step_s": self.step_s,
                "latency_ms_p50_p95_p99": self.window_quantiles}


def quantiles_ms(h: LogHistogram) -> dict:
    return {name: h.quantile_s(q) * 1000 for name, q in QUANTILES.items()} | {"mean": h.mean_s() * 1000}
