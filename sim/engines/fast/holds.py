"""The front of the request path, compiled: the balancer's connection and the app server's worker,
held for the whole request, with their FIFO queues and timeouts; routing; the response; failures.
Mirrors sim.engines.request_path (_through_lb, _to_app, _in_app) step by step."""
from __future__ import annotations

import math

from sim.engines.fast import breaker
from sim.engines.fast.books import (BUSY, LOG_OK, WAITING, area, arrived, departed, fifo, in_window,
                            log_request, push, record_completion, record_failure, sample)
from sim.engines.fast.events import push_event
from sim.engines.fast.layout import (APP_LOST, APP_QUEUE, APP_REFUSED, APP_TIMEOUT, CRASHED, EV_CPU_DONE,
                             EV_FAIL, EV_LB_GRANTED, EV_QUEUE_TIMER, EV_RESPONSE, EV_RETRY,
                             EV_WORKER, EV_WORKER_GRANTED, HUNG, IN_WORKER_QUEUE, LB_LOST, NO_APP,
                             NOWHERE, OFF, REDIS_DOWN, REDIS_WAIT, UP)
from sim.engines.fast.world import jit
from sim.model.path import RETRY_TURNAROUND_S


@jit()
def enqueue(w, s, slot, t, where):
    """The request waits at held station s from t; it times out after the station's patience."""
    st, r = w.node[s], w.rq[slot]
    r.nxt, r.q_since, r.waits = -1, t, where
    if in_window(w, t):
        st.waited += 1
    if st.qtail >= 0:
        w.rq[st.qtail].nxt = slot
    else:
        st.qhead = slot
    st.qtail = slot
    st.qlen += 1
    if st.timer_t == math.inf:
        st.timer_t = t + st.patience_s
        push_event(w, st.timer_t, EV_QUEUE_TIMER, s, -1)


@jit()
def queue_timer(w, s, t):
    """The heads whose wait reached the station's patience leave (FIFO, the same patience for
    all: they are always the heads); the timer moves to the next head's deadline."""
    st = w.node[s]
    st.timer_t = math.inf
    while st.qlen > 0 and w.rq[st.qhead].q_since + st.patience_s <= t:
        slot = st.qhead
        unlink(w, s, slot)
        area(w, s, WAITING, w.rq[slot].q_since, t)
        if in_window(w, t):
            st.abandoned += 1
        fail(w, slot, st.timeout_reason, t)
    if st.qlen > 0:
        st.timer_t = w.rq[st.qhead].q_since + st.patience_s
        push_event(w, st.timer_t, EV_QUEUE_TIMER, s, -1)


@jit()
def unlink(w, s, slot):
    """Takes a request out of a queue: the head, unless deadlines came out of order."""
    st, rq = w.node[s], w.rq
    prev, cur = -1, st.qhead
    while cur != slot:
        prev, cur = cur, rq[cur].nxt
    if prev < 0:
        st.qhead = rq[slot].nxt
    else:
        rq[prev].nxt = rq[slot].nxt
    if st.qtail == slot:
        st.qtail = prev
    st.qlen -= 1
    rq[slot].waits = NOWHERE


@jit()
def finish(w, slot):
    g = w.g[0]
    w.rq[slot].rid = -1
    w.free_slots[g.free_n] = slot
    g.free_n += 1


@jit()
def fail(w, slot, reason, t):
    """The request fails at t (now, or an event then): it lets go of what it holds, worker then
    connection; a failed Redis call counts against the circuit breaker."""
    g, r = w.g[0], w.rq[slot]
    if t > g.now:
        r.reason = reason
        push(w, t, EV_FAIL, slot)
        return
    if REDIS_DOWN <= reason <= REDIS_WAIT:
        breaker.failure(w, t)
    if r.w_grant >= 0:
        release_worker(w, slot, t)
    if r.lb_grant >= 0:
        release_lb(w, slot, t)
    record_failure(w, reason, t)
    log_request(w.req_log, r.rid, r.t0, t, r.op, reason, r.app)
    finish(w, slot)


# ---- the balancer's connection ------------------------------------------------------------

@jit()
def lb_granted(w, slot, t):
    w.rq[slot].lb_grant = t
    route(w, slot, t, sample(w, w.c[0].p_lb))


@jit()
def release(w, s, grant_t, since, t, granted):
    """Held station s lets go of a request (held from grant_t, there since `since`); the heads
    of its queue take the free places, each with a `granted` event (as SimPy grants: no
    recursion)."""
    st = w.node[s]
    st.in_use -= 1
    area(w, s, BUSY, grant_t, t)
    departed(w, s, since, t)
    while st.qlen > 0 and st.in_use < st.cap:
        nxt = st.qhead
        unlink(w, s, nxt)
        area(w, s, WAITING, w.rq[nxt].q_since, t)
        st.in_use += 1
        push(w, t, granted, nxt)


@jit()
def release_lb(w, slot, t):
    r = w.rq[slot]
    release(w, r.lb, r.lb_grant, r.t0, t, EV_LB_GRANTED)
    r.lb_grant = -1.0


@jit()
def pick_app(w):
    g, topo = w.g[0], w
    n = g.n_rot
    if n == 0:
        return -1
    if w.c[0].leastconn:
        best, load = topo.rot[0], 1 << 62
        for i in range(n):
            st = w.node[topo.apps[topo.rot[i], 0]]
            if st.in_use + st.qlen < load:
                best, load = topo.rot[i], st.in_use + st.qlen
        return best
    g.rr_app = (g.rr_app + 1) % n
    return topo.rot[g.rr_app]


@jit()
def route(w, slot, t, proxy_s):
    """HAProxy picks a server (at t; the reference picks after the proxying time proxy_s) and
    connects: a refused connection is retried after min(timeout connect, 1 s), on the same server
    unless `option redispatch` moves the last retry elsewhere."""
    c, r = w.c[0], w.rq[slot]
    if r.app < 0 or (c.redispatch and r.attempt == c.retries):
        r.app = pick_app(w)
    if r.app < 0:
        fail(w, slot, NO_APP, t + proxy_s)
        return
    state = w.node[w.apps[r.app, 0]].state
    if state == HUNG:
        fail(w, slot, APP_TIMEOUT, t + proxy_s + c.server_s)
    elif state == UP:
        r.app_half_s = sample(w, c.p_net_app) / 2
        push(w, t + proxy_s + r.app_half_s, EV_WORKER, slot)
    elif r.attempt < c.retries:
        r.attempt += 1
        push(w, t + proxy_s + min(c.connect_s, RETRY_TURNAROUND_S), EV_RETRY, slot)
    else:
        fail(w, slot, APP_REFUSED, t + proxy_s)


# ---- the app server's worker ----------------------------------------------------------------

@jit()
def worker_arrives(w, slot, t):
    r = w.rq[slot]
    s = w.apps[r.app, 0]
    st = w.node[s]
    r.w_ep, r.w_since = st.epoch, t
    arrived(w, s, t)
    if st.qlimit >= 0 and st.qlen >= st.qlimit and st.in_use >= st.cap:
        if in_window(w, t):
            st.rejected += 1
        fail(w, slot, APP_QUEUE, t)
    elif st.in_use < st.cap:
        st.in_use += 1
        worker_granted(w, slot, t)
    else:
        enqueue(w, s, slot, t, IN_WORKER_QUEUE)


@jit()
def worker_granted(w, slot, t):
    """The worker is the request's: it computes on a core (the cores a FIFO station)."""
    r = w.rq[slot]
    r.w_grant = t
    s = w.apps[r.app, 1]
    state = w.node[s].state
    if state == CRASHED or state == OFF:
        fail(w, slot, APP_LOST, t)
    elif state != HUNG:  # a hung server's cores never answer: the request waits for ever
        r.call_st, r.call_ep = s, w.node[s].epoch
        push(w, fifo(w, s, t, sample(w, w.ops[r.op].cpu_pool), math.inf), EV_CPU_DONE, slot)


@jit()
def release_worker(w, slot, t):
    r = w.rq[slot]
    release(w, w.apps[r.app, 0], r.w_grant, r.w_since, t, EV_WORKER_GRANTED)
    r.w_grant = -1.0


@jit()
def done_in_app(w, slot, t):
    """The worker is released; a server that crashed or hung meanwhile lost the request; the
    response takes the other half of the round trip."""
    r = w.rq[slot]
    release_worker(w, slot, t)
    lb = w.node[r.lb]
    if w.node[w.apps[r.app, 0]].epoch != r.w_ep:
        fail(w, slot, APP_LOST, t)
    elif t + r.app_half_s < w.g[0].until and lb.qlen == 0 and _room_until(w, lb.cap - lb.in_use, t + r.app_half_s):
        # Nothing the response could meet is left before the next control event, no request
        # waits for its connection and every arrival until then finds one free: it can be
        # booked now (its connection counts as free from now on).
        respond(w, slot, t + r.app_half_s)
    else:
        push(w, t + r.app_half_s, EV_RESPONSE, slot)


@jit(inline="always")
def _room_until(w, free, t):
    """Whether at most `free` requests arrive before t (False if the arrivals drawn end before t)."""
    g = w.g[0]
    i = g.next_arr
    while i < g.n_arr and w.arr_t[i] < t:
        if i - g.next_arr == free:
            return False
        i += 1
    return i < g.n_arr


@jit()
def respond(w, slot, t):
    r = w.rq[slot]
    release_lb(w, slot, t)
    if w.node[r.lb].epoch != r.lb_ep:  # the balancer died holding the connection: no response
        fail(w, slot, LB_LOST, t)
        return
    record_completion(w, r.op, r.t0, t, w.ops[r.op].write)
    log_request(w.req_log, r.rid, r.t0, t, r.op, LOG_OK, r.app)
    finish(w, slot)


