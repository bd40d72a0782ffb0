"""Compiled book-keeping: samples, FIFO stations in closed form, and the books kept as
sim.station.Station and sim.metrics.Recorder keep them."""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.fast.events import push_event
from sim.histogram import _EDGES, LOW_S

EDGES = _EDGES.copy()
# bucket() without a logarithm: frexp splits v into m x 2**e (m in [0.5, 1)); cells of 1/1024 of
# an octave (0.07% wide, inside a 1% bucket) map to the bucket of their lower end, and one edge
# at most lies inside a cell.
_CELLS = 1024
_E0 = math.frexp(LOW_S)[1]
_N_OCTAVES = math.frexp(float(EDGES[-1]))[1] - _E0 + 1


def _cell_table():
    octave = np.arange(_N_OCTAVES * _CELLS) // _CELLS
    low = np.ldexp(0.5 + (np.arange(_N_OCTAVES * _CELLS) % _CELLS) / (2 * _CELLS), octave + _E0)
    return np.searchsorted(EDGES, low, side="right").astype(np.int64)


CELL_BUCKET = _cell_table()


@njit(cache=True)
def push(w, t, kind, slot):
    """Schedules a step of the request in `slot`."""
    push_event(w, t, kind, slot, w.rq[slot].rid)


@njit(cache=True)
def sample(w, pool):
    """The next sample of a pool, in seconds."""
    value = w.const[pool]
    if value == value:  # deterministic
        return value
    cursor = w.cursor
    i = cursor[pool]
    cursor[pool] = i + 1
    w.g[0].drawn += 1
    return w.pools[pool, i]


@njit(cache=True)
def bucket(v):
    """The LogHistogram bucket of v: np.searchsorted(EDGES, v, side="right")."""
    n = EDGES.shape[0]
    if not v >= EDGES[0]:
        return 0
    if v >= EDGES[n - 1]:
        return n
    m, e = math.frexp(v)
    i = CELL_BUCKET[(e - _E0) * _CELLS + int((m - 0.5) * (2 * _CELLS))]
    while EDGES[i] <= v:
        i += 1
    return i


@njit(cache=True)
def in_window(w, t):
    c = w.c[0]
    return c.warmup_s <= t < c.duration_s


BUSY, WAITING = 0, 1


@njit(cache=True)
def area(w, s, which, a, b):
    """Integrates one server BUSY or one request WAITING at station s over [a, b): per second
    over the run, and in total over the measured window."""
    c = w.c[0]
    b = min(b, c.duration_s)
    if not b > a:
        return
    series = w.busy if which == BUSY else w.queue
    lo = max(a, c.warmup_s)
    if b > lo:
        if which == BUSY:
            w.node[s].busy_s += b - lo
        else:
            w.node[s].queue_s += b - lo
    sec = int(a)
    while a < b:
        edge = min(float(sec + 1), b)
        series[s, sec] += edge - a
        a = edge
        sec += 1


@njit(cache=True)
def arrived(w, s, t):
    if in_window(w, t):
        w.node[s].arrivals += 1


@njit(cache=True)
def departed(w, s, since, t):
    c = w.c[0]
    if c.warmup_s <= t < c.duration_s:
        st = w.node[s]
        st.departures += 1
        st.sojourn_s += t - since
        st.hist_s += t - since
        w.st_hist[s, bucket(t - since)] += 1


@njit(cache=True)
def fifo(w, s, t, service, patience):
    """A request arrives at a FIFO station whose holding time is known on arrival (Redis, the
    cores, a database's connections): Kiefer-Wolfowitz, exact when arrivals come in time order.
    Returns the departure time, or -1 if it left after waiting `patience` (Station.serve's
    "timeout"). The books get the arrival, the wait, the service and the departure."""
    st, free = w.node[s], w.free
    k, earliest = 0, free[s, 0]
    for j in range(1, st.cap):
        if free[s, j] < earliest:
            k, earliest = j, free[s, j]
    arrived(w, s, t)
    if earliest > t:
        if in_window(w, t):
            st.waited += 1
        if earliest - t > patience:
            area(w, s, WAITING, t, t + patience)
            if in_window(w, t + patience):
                st.abandoned += 1
            return -1.0
    start = max(earliest, t)
    dep = start + service * st.slow
    free[s, k] = dep
    if start > t:
        area(w, s, WAITING, t, start)
    area(w, s, BUSY, start, dep)
    departed(w, s, t, dep)
    return dep


@njit(cache=True)
def lost_meanwhile(w, s, epoch, t):
    """Whether station s crashed or hung after a request saw `epoch` and at or before t."""
    st = w.node[s]
    return st.epoch != epoch and st.bump_t <= t


@njit(cache=True)
def record_arrival(w, t):
    w.bins[0, int(t / w.c[0].bin_s)] += 1


@njit(cache=True)
def record_failure(w, reason, t):
    w.bins[2, int(t / w.c[0].bin_s)] += 1
    if t >= w.c[0].warmup_s:
        w.reasons[reason] += 1


@njit(cache=True)
def record_completion(w, op, t0, t, write):
    """Recorder.complete: bins, histograms, the step's latencies, incident samples."""
    c, g, bk = w.c[0], w.g[0], w
    latency = t - t0
    b = int(t / c.bin_s)
    bk.bins[1, b] += 1
    if latency > c.slow_s:
        bk.bins[3, b] += 1
    g.completed += 1
    g.latency_s += latency
    i = bucket(latency)
    step = int(t / c.step_s)
    if step < c.n_steps:
        bk.step_hist[step, i] += 1
    if t >= c.warmup_s:
        for h in (0, 2 + op):
            bk.hist[h, i] += 1
            bk.hist_s[h] += latency
        if t < c.failure_at:
            bk.hist[1, i] += 1
            bk.hist_s[1] += latency
        g.writes += write
    if c.inc_from <= t < c.inc_to:
        n = g.n_inc
        bk.incident[0, n], bk.incident[1, n] = t, latency
        g.n_inc = n + 1


@njit(cache=True)
def ring_add(ring, n, t):
    ring[n % ring.shape[0]] = t
