"""Compiled book-keeping: samples, FIFO stations in closed form, and the books kept as
sim.engines.station.Station and sim.engines.metrics.Recorder keep them."""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from sim.engines.fast.events import push_event
from sim.engines.fast.world import jit
from sim.engines.histogram import EDGES_S as EDGES, LOW_S
# bucket() without a logarithm: frexp splits v into m x 2**e (m in [0.5, 1)); cells of 1/1024 of
# an octave (0.07% wide, inside a 1% bucket) map to the bucket of their lower end, and one edge
# at most lies inside a cell. A cell's index is read off the bits of v: the exponent, then the
# top 10 bits of the mantissa, make (e + 1022) * 1024 + int((m - 0.5) * 2048).
_CELLS = 1024
_E0 = math.frexp(LOW_S)[1]
_N_OCTAVES = math.frexp(float(EDGES[-1]))[1] - _E0 + 1


def _cell_table():
    octave = np.arange(_N_OCTAVES * _CELLS) // _CELLS
    low = np.ldexp(0.5 + (np.arange(_N_OCTAVES * _CELLS) % _CELLS) / (2 * _CELLS), octave + _E0)
    return np.searchsorted(EDGES, low, side="right").astype(np.int64)


CELL_BUCKET = _cell_table()
_CELL0 = (1022 + _E0) * _CELLS


@intrinsic
def _bits(typingctx, v):
    """The IEEE 754 bits of a float64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@jit()
def push(w, t, kind, slot):
    """Schedules a step of the request in `slot`."""
    push_event(w, t, kind, slot, w.rq[slot].rid)


@jit()
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


@jit(inline="always")
def bucket(v):
    """The LogHistogram bucket of v: np.searchsorted(EDGES, v, side="right")."""
    n = EDGES.shape[0]
    if not v >= EDGES[0]:
        return 0
    if v >= EDGES[n - 1]:
        return n
    i = CELL_BUCKET[(_bits(v) >> 42) - _CELL0]
    while EDGES[i] <= v:
        i += 1
    return i


@jit()
def in_window(w, t):
    c = w.c[0]
    return c.warmup_s <= t < c.duration_s


BUSY, WAITING = 0, 1


@jit(inline="always")
def span(series, s, a, b, warm, end):
    """Integrates one server busy or one request waiting at station s over [a, b) into
    series[s, second]; returns the part of it inside the measured window [warm, end)."""
    b = min(b, end)
    if not b > a:
        return 0.0
    lo = max(a, warm)
    measured = b - lo if b > lo else 0.0
    sec = int(a)
    while a < b:
        edge = min(float(sec + 1), b)
        series[s, sec] += edge - a
        a = edge
        sec += 1
    return measured


@jit()
def area(w, s, which, a, b):
    """span() for station s, BUSY or WAITING, into its series and its totals."""
    c = w.c[0]
    if which == BUSY:
        w.node[s].busy_s += span(w.busy, s, a, b, c.warmup_s, c.duration_s)
    else:
        w.node[s].queue_s += span(w.queue, s, a, b, c.warmup_s, c.duration_s)


@jit()
def arrived(w, s, t):
    if in_window(w, t):
        w.node[s].arrivals += 1


@jit(inline="always")
def leave(node, st_hist, s, since, t, warm, end):
    """A departure at t of a visit that began at `since`: its sojourn in the books."""
    if warm <= t < end:
        st = node[s]
        st.departures += 1
        st.sojourn_s += t - since
        st.hist_s += t - since
        st_hist[s, bucket(t - since)] += 1


@jit()
def departed(w, s, since, t):
    c = w.c[0]
    leave(w.node, w.st_hist, s, since, t, c.warmup_s, c.duration_s)


@jit(inline="always")
def visit(node, busy, queue, st_hist, s, t, start, dep, warm, end):
    """The books of a FIFO visit that arrived at t, began at `start` and left at `dep`."""
    if warm <= t < end:
        node[s].arrivals += 1
        if start > t:
            node[s].waited += 1
    if start > t:
        node[s].queue_s += span(queue, s, t, start, warm, end)
    node[s].busy_s += span(busy, s, start, dep, warm, end)
    leave(node, st_hist, s, t, dep, warm, end)


@jit(inline="always")
def earliest_server(free, s, cap):
    """The server of FIFO station s that is free first, and when."""
    k, earliest = 0, free[s, 0]
    for j in range(1, cap):
        if free[s, j] < earliest:
            k, earliest = j, free[s, j]
    return k, earliest


@jit()
def fifo(w, s, t, service, patience):
    """A request arrives at a FIFO station whose holding time is known on arrival (Redis, the
    cores, a database's connections): Kiefer-Wolfowitz, exact when arrivals come in time order.
    Returns the departure time, or -1 if it left after waiting `patience` (Station.serve's
    "timeout"). The books get the arrival, the wait, the service and the departure."""
    st, c = w.node[s], w.c[0]
    k, earliest = earliest_server(w.free, s, st.cap)
    if earliest > t and earliest - t > patience:
        arrived(w, s, t)
        if in_window(w, t):
            st.waited += 1
        area(w, s, WAITING, t, t + patience)
        if in_window(w, t + patience):
            st.abandoned += 1
        return -1.0
    start = max(earliest, t)
    dep = start + service * st.slow
    w.free[s, k] = dep
    visit(w.node, w.busy, w.queue, w.st_hist, s, t, start, dep, c.warmup_s, c.duration_s)
    return dep


@jit()
def lost_meanwhile(w, s, epoch, t):
    """Whether station s crashed or hung after a request saw `epoch` and at or before t."""
    st = w.node[s]
    return st.epoch != epoch and st.bump_t <= t


@jit()
def record_arrival(w, t):
    w.bins[0, int(t / w.c[0].bin_s)] += 1


@jit()
def record_failure(w, reason, t):
    w.bins[2, int(t / w.c[0].bin_s)] += 1
    if t >= w.c[0].warmup_s:
        w.reasons[reason] += 1


# simulation.log_requests: a row per logged request, by number (rid), NaN until it ends: its
# arrival, end, operation, outcome (LOG_OK or a failure reason's code), app server (-1: none)
LOG_ARRIVED, LOG_ENDED, LOG_OP, LOG_OUTCOME, LOG_APP, LOG_COLUMNS = range(6)
LOG_OK = -1


@jit()
def log_request(log, rid, t0, t, op, outcome, app):
    """A request ends: in the log if it is one of the first (one bounds check for the rest)."""
    if rid < log.shape[0]:
        log[rid, LOG_ARRIVED], log[rid, LOG_ENDED], log[rid, LOG_OP] = t0, t, op
        log[rid, LOG_OUTCOME], log[rid, LOG_APP] = outcome, app


@jit()
def record_completion(w, op, t0, t, write):
    complete(w.c[0], w.g[0], w.bins, w.hist, w.hist_s, w.step_hist, w.incident, op, t0, t, write)


@jit(inline="always")
def complete(c, g, bins, hist, hist_s, step_hist, incident, op, t0, t, write):
    """Recorder.complete: bins, histograms, the step's latencies, incident samples."""
    latency = t - t0
    b = int(t / c.bin_s)
    bins[1, b] += 1
    if latency > c.slow_s:
        bins[3, b] += 1
    g.completed += 1
    g.latency_s += latency
    i = bucket(latency)
    step = int(t / c.step_s)
    if step < c.n_steps:
        step_hist[step, i] += 1
    if t >= c.warmup_s:
        for h in (0, 2 + op):
            hist[h, i] += 1
            hist_s[h] += latency
        if t < c.failure_at:
            hist[1, i] += 1
            hist_s[1] += latency
        g.writes += write
    if c.inc_from <= t < c.inc_to:
        n = g.n_inc
        incident[0, n], incident[1, n] = t, latency
        g.n_inc = n + 1


@jit()
def ring_add(ring, n, t):
    ring[n % ring.shape[0]] = t
