"""Arrivals: a (non-homogeneous) Poisson stream of requests, each with an operation from the mix."""
from __future__ import annotations

import numpy as np

from sim.model.schema import Arrivals, Workload

DAY_S = 86400.0


def rate_curve(arrivals: Arrivals) -> tuple[np.ndarray, np.ndarray, float]:
    """(times_s, rates_rps, period_s): the rate interpolates linearly between the points and
    holds the last value after them, or repeats with the period when it is not zero."""
    if arrivals.kind == "constant":
        return np.array([0.0]), np.array([arrivals.rate_rps]), 0.0
    if arrivals.kind == "piecewise":
        pts = sorted(arrivals.points, key=lambda p: p.at_s)
        return np.array([p.at_s for p in pts]), np.array([p.rate_rps for p in pts]), 0.0
    weights = np.asarray(arrivals.hourly_profile, dtype=float)
    mean_rps = arrivals.daily_users * arrivals.requests_per_user / DAY_S
    rates = mean_rps * weights / weights.mean()
    # points at each hour's middle, wrapped around midnight; the daily integral is preserved
    times = np.concatenate([[0.0], np.arange(24) * 3600 + 1800, [DAY_S]])
    edge = (rates[0] + rates[-1]) / 2
    return times, np.concatenate([[edge], rates, [edge]]), DAY_S


def rate_at(curve, t) -> np.ndarray:
    times, rates, period = curve
    t = np.asarray(t, dtype=float)
    if period:
        t = np.mod(t, period)
    return np.interp(t, times, rates)


def mean_rate(curve, t0: float, t1: float) -> float:
    grid = np.linspace(t0, t1, 2001)
    return float(np.trapezoid(rate_at(curve, grid), grid) / (t1 - t0))


def arrival_times(curve, rng: np.random.Generator, t0: float, t1: float) -> np.ndarray:
    """Sorted arrival times in [t0, t1), by thinning a Poisson stream at the interval's peak rate."""
    times, rates, period = curve
    knots = times
    if period:
        cycles = np.arange(np.floor(t0 / period), np.floor(t1 / period) + 1)
        knots = (times[None, :] + period * cycles[:, None]).ravel()
    inside = knots[(knots > t0) & (knots < t1)]
    peak = float(rate_at(curve, np.concatenate([[t0, t1], inside])).max())
    if peak <= 0:
        return np.empty(0)
    n = rng.poisson(peak * (t1 - t0))
    t = np.sort(rng.uniform(t0, t1, n))
    if len(rates) > 1:
        t = t[rng.uniform(0, peak, n) < rate_at(curve, t)]
    return t


class OperationChooser:
    """Draws operation names by the mix, in blocks."""

    def __init__(self, workload: Workload, rng: np.random.Generator):
        self.names = [n for n, f in workload.mix.items() if f > 0]
        p = np.array([workload.mix[n] for n in self.names])
        self.p = p / p.sum()
        self.cdf = self.p.cumsum()
        self.cdf /= self.cdf[-1]
        self.rng = rng

    def draw(self, n: int) -> np.ndarray:
        """rng.choice(len(names), size=n, p=p) to the bit: as it does, one uniform per request
        and the number of the mix's cumulative fractions at or below it, counted here with a
        comparison per operation rather than numpy's binary search (a quarter of the time)."""
        u = self.rng.random(n)
        index = np.zeros(n, np.uint8 if len(self.names) < 256 else np.int64)
        for edge in self.cdf[:-1]:
            index += u >= edge
        return index


class ArrivalStream:
    """The run's requests, drawn CHUNK_S seconds at a time from the "arrivals" and "mix" streams:
    both engines draw them this way, so for the same seed they see the same requests."""
    CHUNK_S = 10.0

    def __init__(self, workload: Workload, duration_s: float, arrivals_rng, mix_rng):
        self.curve = rate_curve(workload.arrivals)
        self.rng = arrivals_rng
        self.chooser = OperationChooser(workload, mix_rng)
        self.names = self.chooser.names
        self.end = duration_s
        self.t = 0.0

    @property
    def done(self) -> bool:
        return self.t >= self.end

    def next_chunk(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(arrival times, operation indices into `names`, the time up to which they are drawn)."""
        t0, self.t = self.t, min(self.t + self.CHUNK_S, self.end)
        times = arrival_times(self.curve, self.rng, t0, self.t)
        return times, self.chooser.draw(len(times)).astype(np.int64), self.t
