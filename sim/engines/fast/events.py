"""The event queue, ordered by (time, scheduling order): what a single heap would give, cheaper.

Most steps of a request come a fixed time after the step before (half a round trip, the
proxying time), or leave a single-server FIFO queue: such events are scheduled in time order, so
each kind keeps a FIFO lane that stays sorted. An event that would unsort its lane (a random
delay, a departure overtaking another) goes to a 4-ary heap instead. The next event is the
earliest over the heap's top and the lanes' heads.
"""
from __future__ import annotations

import math

from sim.engines.fast.layout import (EV_CPU_DONE, EV_REDIS_AT, EV_REDIS_BACK, EV_RESPONSE, EV_WORKER,
                             N_EVENT_KINDS)
from sim.engines.fast.world import jit

LANE_KINDS = (EV_WORKER, EV_CPU_DONE, EV_REDIS_AT, EV_REDIS_BACK, EV_RESPONSE)
LANE = tuple(LANE_KINDS.index(k) if k in LANE_KINDS else -1 for k in range(N_EVENT_KINDS))
LANE_SIZE = 1 << 12  # a power of two: ring buffers


@jit()
def _earlier(t, seq, u, useq):
    return t < u or (t == u and seq < useq)


@jit()
def push_event(w, t, kind, slot, rid):
    g = w.g[0]
    seq = g.seq
    g.seq += 1
    lane = LANE[kind]
    if lane >= 0:
        lane_n, lane_t = w.lane_n, w.lane_t
        head, tail = lane_n[lane, 0], lane_n[lane, 1]
        if tail - head < LANE_SIZE and (tail == head or lane_t[lane, (tail - 1) & (LANE_SIZE - 1)] <= t):
            i = tail & (LANE_SIZE - 1)
            lane_i = w.lane_i
            lane_t[lane, i] = t
            lane_i[lane, i, 0], lane_i[lane, i, 1], lane_i[lane, i, 2] = seq, slot, rid
            lane_n[lane, 1] = tail + 1
            return
    _heap_push(w, t, seq, kind, slot, rid)


@jit()
def earliest(w):
    """(time, source) of the next event: source -1 the heap, else a lane; inf when none."""
    g = w.g[0]
    t, seq, source = math.inf, 0, -2
    if g.heap_n > 0:
        t, seq, source = w.heap_t[0], w.heap_i[0, 0], -1
    lane_n, lane_t, lane_i = w.lane_n, w.lane_t, w.lane_i
    for lane in range(len(LANE_KINDS)):
        head = lane_n[lane, 0]
        if head < lane_n[lane, 1]:
            i = head & (LANE_SIZE - 1)
            if _earlier(lane_t[lane, i], lane_i[lane, i, 0], t, seq):
                t, seq, source = lane_t[lane, i], lane_i[lane, i, 0], lane
    return t, source


@jit()
def clear(w):
    """Drops every pending event: called when no request is in flight, so that each is a step of
    a request that has ended (which would do nothing) or a queue's timer with nobody left to time
    out (which would only disarm itself). Disarms those timers now."""
    w.g[0].heap_n = 0
    for lane in range(len(LANE_KINDS)):
        w.lane_n[lane, 0] = w.lane_n[lane, 1]
    for s in range(w.node.shape[0]):
        w.node[s].timer_t = math.inf


@jit()
def pop(w, source):
    """Removes the next event, from the source `earliest` named; returns (time, kind, slot, rid)."""
    if source == -1:
        return _heap_pop(w)
    lane_n = w.lane_n
    head = lane_n[source, 0]
    i = head & (LANE_SIZE - 1)
    lane_n[source, 0] = head + 1
    lane_i = w.lane_i
    return w.lane_t[source, i], LANE_KINDS[source], lane_i[source, i, 1], lane_i[source, i, 2]


@jit()
def _move(ht, hi, a, b):
    ht[b] = ht[a]
    hi[b, 0], hi[b, 1], hi[b, 2], hi[b, 3] = hi[a, 0], hi[a, 1], hi[a, 2], hi[a, 3]


@jit()
def _heap_push(w, t, seq, kind, slot, rid):
    g, ht, hi = w.g[0], w.heap_t, w.heap_i
    i = g.heap_n
    g.heap_n += 1
    while i > 0:
        parent = (i - 1) >> 2
        if _earlier(ht[parent], hi[parent, 0], t, seq):
            break
        _move(ht, hi, parent, i)
        i = parent
    ht[i] = t
    hi[i, 0], hi[i, 1], hi[i, 2], hi[i, 3] = seq, kind, slot, rid


@jit()
def _heap_pop(w):
    g, ht, hi = w.g[0], w.heap_t, w.heap_i
    out = (ht[0], hi[0, 1], hi[0, 2], hi[0, 3])
    n = g.heap_n - 1
    g.heap_n = n
    t, seq, kind, slot, rid = ht[n], hi[n, 0], hi[n, 1], hi[n, 2], hi[n, 3]
    i = 0
    while True:
        first = 4 * i + 1
        if first >= n:
            break
        c = first
        for j in range(first + 1, min(first + 4, n)):
            if _earlier(ht[j], hi[j, 0], ht[c], hi[c, 0]):
                c = j
        if not _earlier(ht[c], hi[c, 0], t, seq):
            break
        _move(ht, hi, c, i)
        i = c
    ht[i] = t
    hi[i, 0], hi[i, 1], hi[i, 2], hi[i, 3] = seq, kind, slot, rid
    return out
