"""The compiled event loop: arrivals from a sorted array, every later step of a request an event
(sim.engines.fast.events) in (time, scheduling order), so the same seed replays the same run."""
from __future__ import annotations

import math

from numba import njit

from sim.engines.fast import bulk, calls, events, holds
from sim.engines.fast.books import BUSY, WAITING, area, arrived, record_arrival
from sim.engines.fast.layout import (CRASHED, EV_ACKED, EV_CPU_DONE, EV_CALL_AT, EV_CALL_BACK, EV_FAIL,
                             EV_LB_GRANTED, EV_PG_SYNCED, EV_QUEUE_TIMER, EV_REDIS_AT,
                             EV_REDIS_BACK, EV_RESPONSE, EV_RETRY, EV_WORKER, EV_WORKER_GRANTED,
                             HUNG, IN_LB_QUEUE, IN_WORKER_QUEUE, LB_TIMEOUT, NO_LB, NOWHERE, OFF)
from sim.engines.fast.world import jit

DONE, NEEDS_SERVICE = 0, 1
MARGIN = 64  # room kept in every buffer: no event fills more than this
BULK_BACKOFF = 1 << 12  # arrivals left to the event loop after a calm stretch was refused


@jit()
def arrive(w, t, op):
    """A request reaches the floating IP: the balancer holding it takes a connection, or queues."""
    g = w.g[0]
    g.free_n -= 1
    slot = w.free_slots[g.free_n]
    r = w.rq[slot]
    r.rid, g.rid = g.rid, g.rid + 1
    r.op, r.t0, r.lb_grant, r.w_grant, r.app, r.attempt, r.waits = op, t, -1.0, -1.0, -1, 0, NOWHERE
    record_arrival(w, t)
    lb = g.vip
    if lb < 0 or w.node[lb].state == CRASHED or w.node[lb].state == OFF:
        holds.fail(w, slot, NO_LB, t)
        return
    if w.node[lb].state == HUNG:
        holds.fail(w, slot, LB_TIMEOUT, t + w.c[0].connect_s)
        return
    r.lb, r.lb_ep = lb, w.node[lb].epoch
    arrived(w, lb, t)
    if w.node[lb].in_use < w.node[lb].cap:
        w.node[lb].in_use += 1
        holds.lb_granted(w, slot, t)
    else:
        holds.enqueue(w, lb, slot, t, IN_LB_QUEUE)


@jit()
def dispatch(w, kind, slot, t):
    if kind == EV_WORKER:
        holds.worker_arrives(w, slot, t)
    elif kind == EV_CPU_DONE:
        calls.cpu_done(w, slot, t)
    elif kind == EV_REDIS_AT:
        calls.redis_at(w, slot, t)
    elif kind == EV_REDIS_BACK:
        calls.redis_back(w, slot, t)
    elif kind == EV_RESPONSE:
        holds.respond(w, slot, t)
    elif kind == EV_CALL_AT:
        calls.call_at(w, slot, t)
    elif kind == EV_CALL_BACK:
        calls.call_back(w, slot, t)
    elif kind == EV_WORKER_GRANTED:
        holds.worker_granted(w, slot, t)
    elif kind == EV_LB_GRANTED:
        holds.lb_granted(w, slot, t)
    elif kind == EV_RETRY:
        holds.route(w, slot, t, 0.0)
    elif kind == EV_ACKED:
        calls.wait_acked(w, slot, t)
    elif kind == EV_PG_SYNCED:
        calls.pg_committed(w, slot, t)
    elif kind == EV_FAIL:
        holds.fail(w, slot, w.rq[slot].reason, t)


@jit()
def _advance(w, until, budget):
    """Processes the arrivals and events before `until`; returns DONE, or NEEDS_SERVICE when a
    buffer must be grown or the pools refilled first (then call again). No step fills more than
    MARGIN of a buffer or draws more than the pools' reserve."""
    g, ht = w.g[0], w.heap_t
    g.until = until
    heap_room, inc_room, brk_room = ht.shape[0] - MARGIN, w.incident.shape[1] - MARGIN, w.breaker.shape[1] - MARGIN
    next_t = w.arr_t[g.next_arr] if g.next_arr < g.n_arr else math.inf
    while True:
        if g.drawn >= budget or g.heap_n >= heap_room or g.n_inc >= inc_room or g.n_brk >= brk_room:
            return NEEDS_SERVICE
        th, source = events.earliest(w)
        if next_t >= until and th >= until:
            g.now = until
            for s in w.redis:
                if w.node[s].batch_t <= until:
                    calls.flush_batch(w, s)
            return DONE
        if next_t <= th:
            if g.free_n == w.rq.shape[0] and g.next_arr >= g.bulk_after:
                # nothing in flight: a calm stretch may run in bulk from here. What events are
                # left are stale, such as the timer of a worker queue that emptied, which would
                # otherwise hold the event loop for its patience (50 s)
                if th < math.inf:
                    events.clear(w)
                taken = bulk.run(w, until, g.ctl_until)
                if taken < 0:
                    g.make_room = 1
                    return NEEDS_SERVICE
                if taken:
                    next_t = w.arr_t[g.next_arr] if g.next_arr < g.n_arr else math.inf
                    continue
                g.bulk_after = g.next_arr + BULK_BACKOFF
            if g.free_n < MARGIN:
                return NEEDS_SERVICE
            g.now = next_t
            arrive(w, next_t, w.arr_op[g.next_arr])
            g.next_arr += 1
            next_t = w.arr_t[g.next_arr] if g.next_arr < g.n_arr else math.inf
            continue
        t, kind, slot, rid = events.pop(w, source)
        g.now = t
        if kind == EV_QUEUE_TIMER:
            holds.queue_timer(w, slot, t)
        elif w.rq[slot].rid == rid:
            dispatch(w, kind, slot, t)


@jit()
def _close_books(w):
    """The run ends: what requests in flight hold or wait for counts up to its end."""
    end = w.c[0].duration_s
    for slot in range(w.rq.shape[0]):
        r = w.rq[slot]
        if r.rid < 0:
            continue
        if r.waits == IN_LB_QUEUE:
            area(w, r.lb, WAITING, r.q_since, end)
        elif r.waits == IN_WORKER_QUEUE:
            area(w, w.apps[r.app, 0], WAITING, r.q_since, end)
        if r.lb_grant >= 0:
            area(w, r.lb, BUSY, r.lb_grant, end)
        if r.w_grant >= 0:
            area(w, w.apps[r.app, 0], BUSY, r.w_grant, end)
    for s in w.redis:
        calls.flush_batch(w, s)


# Called from Python, so with the runtime's reference counts (the World passed in is counted).
@njit(cache=True)
def advance(w, until, budget):
    return _advance(w, until, budget)


@njit(cache=True)
def close_books(w):
    _close_books(w)
