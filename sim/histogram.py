"""A streaming latency histogram: log-spaced buckets, bounded memory, mergeable."""
from __future__ import annotations

import numpy as np

LOW_S = 1e-6     # values below 1 us share the first bucket
HIGH_S = 1e4     # and above ~2.8 h the last
GROWTH = 1.01    # bucket width: a quantile is within 0.5% of the true value
_LOG_G = np.log(GROWTH)
NBUCKETS = int(np.ceil(np.log(HIGH_S / LOW_S) / _LOG_G)) + 2
_EDGES = LOW_S * GROWTH ** np.arange(NBUCKETS - 1)
# a bucket's representative value: geometric middle of its edges
_MIDS = np.concatenate([[LOW_S], np.sqrt(_EDGES[:-1] * _EDGES[1:]), [HIGH_S]])
FLUSH = 8192


class LogHistogram:
    __slots__ = ("counts", "total_s", "_buf")

    def __init__(self):
        self.counts = np.zeros(NBUCKETS, dtype=np.int64)
        self.total_s = 0.0
        self._buf: list[float] = []

    def record(self, value_s: float):
        self._buf.append(value_s)
        if len(self._buf) >= FLUSH:
            self.flush()

    def record_many(self, values_s: np.ndarray):
        self.flush()
        self._add(np.asarray(values_s, dtype=float))

    def flush(self):
        if self._buf:
            values = np.array(self._buf)
            self._buf.clear()
            self._add(values)

    def _add(self, values: np.ndarray):
        idx = np.searchsorted(_EDGES, values, side="right")
        self.counts += np.bincount(idx, minlength=NBUCKETS)
        self.total_s += float(values.sum())

    @property
    def count(self) -> int:
        self.flush()
        return int(self.counts.sum())

    def mean_s(self) -> float:
        n = self.count
        return self.total_s / n if n else float("nan")

    def quantile_s(self, q: float) -> float:
        n = self.count
        if n == 0:
            return float("nan")
        rank = int(np.ceil(q * n))
        return float(_MIDS[np.searchsorted(np.cumsum(self.counts), max(rank, 1))])

    def copy(self) -> "LogHistogram":
        self.flush()
        other = LogHistogram()
        other.counts, other.total_s = self.counts.copy(), self.total_s
        return other

    def __sub__(self, other: "LogHistogram") -> "LogHistogram":
        out = self.copy()
        out.counts -= other.counts
        out.total_s -= other.total_s
        return out

    def __iadd__(self, other: "LogHistogram") -> "LogHistogram":
        self.flush()
        other.flush()
        self.counts += other.counts
        self.total_s += other.total_s
        return self
