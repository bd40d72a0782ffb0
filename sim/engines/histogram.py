"""A streaming latency histogram: log-spaced buckets, bounded memory, mergeable."""
from __future__ import annotations

import numpy as np

LOW_S = 1e-6     # values below 1 us share the first bucket
HIGH_S = 1e4     # and above ~2.8 h the last
GROWTH = 1.01    # bucket width: 1%
_LOG_G = np.log(GROWTH)
NBUCKETS = int(np.ceil(np.log(HIGH_S / LOW_S) / _LOG_G)) + 2
EDGES_S = LOW_S * GROWTH ** np.arange(NBUCKETS - 1)
# a bucket's representative value: geometric middle of its edges
_MIDS = np.concatenate([[LOW_S], np.sqrt(EDGES_S[:-1] * EDGES_S[1:]), [HIGH_S]])
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
        idx = np.searchsorted(EDGES_S, values, side="right")
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
        """The q-quantile, interpolated within its bucket as if the values were spread evenly
        over it on the log scale (the density barely changes across 1%): a figure that moves
        continuously with the data, so replications that share a bucket still differ."""
        n = self.count
        if n == 0:
            return float("nan")
        cum = np.cumsum(self.counts)
        rank = min(max(q * n, 0.5), n)  # continuous rank
        i = int(np.searchsorted(cum, rank))
        if i == 0 or i == NBUCKETS - 1:  # below 1 us or above the last edge: no width to spread
            return float(_MIDS[i])
        below = cum[i - 1] if i else 0
        frac = (rank - below) / self.counts[i]
        return float(EDGES_S[i - 1] * GROWTH ** frac)

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


def floor_interval(figure: dict) -> dict:
    """A quantile's interval widened to at least half a bucket either side of the mean: the
    interpolation within a bucket is an assumption the histogram cannot check, so no interval
    may claim a finer resolution than its buckets."""
    mean, (lo, hi) = figure["mean"], figure["ci95"]
    if mean is None or lo is None:
        return figure
    half = GROWTH ** 0.5
    return {"mean": mean, "ci95": [min(lo, mean / half), max(hi, mean * half)]}
