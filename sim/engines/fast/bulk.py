"""Calm stretches in bulk, without the event queue.

Between two moments when the system is empty (regeneration points), with the topology fixed and
no request waiting for a held resource, timing out or failing, every request takes the same
path: a balancer connection, a worker and a core of its app server, the Redis master, at most
one database call, the response. The network of stations is then feed-forward, so a stretch can
run stage by stage, each stage taking its requests in the order they reach it (nearly sorted
already: an insertion sort), FIFO stations in closed form as in sim.engines.fast.books. The stages run
in rounds of a few thousand arrivals (sim.engines.fast.stages.pass1), so that a round's rows stay in
the core's cache: a stage takes in a round the requests that reach it before the next round
begins, which every later request reaches after.

Every pool of samples is drawn at one stage only, in the order of that stage's arrivals: the
order the event loop draws it in. Pass 1 (sim.engines.fast.stages) runs the candidates on scratch copies
of the stations, and this module keeps the longest prefix of whole busy cycles before the first
request that breaks the rules above; pass 2 (sim.engines.fast.kept) enters that prefix in the books and
moves the pools past its samples. At the end of a busy cycle every station is idle, so the
stations need nothing else. What it keeps is what the event loop computes from the same samples,
to the last count (tests/test_engines.py); the rest is left to the event loop.
"""
from __future__ import annotations

import math

from sim.engines.fast import breaker
from sim.engines.fast.kept import commit
from sim.engines.fast.layout import UP
from sim.engines.fast.stages import HEAP, T_ARRIVED, pass1
from sim.engines.fast.world import jit

MIN_RUN = 1 << 10  # a stretch shorter than this is left to the event loop
MARGIN = 64  # as sim.engines.fast.kernel.MARGIN: room every buffer keeps


@jit()
def eligible(w):
    """The topology lets every request take the calm path now."""
    g, c, node = w.g[0], w.c[0], w.node
    if not c.bulk or g.vip < 0 or node[g.vip].state != UP or g.n_rot == 0:
        return False
    for i in range(g.n_rot):
        a = w.rot[i]
        if node[w.apps[a, 0]].state != UP or node[w.apps[a, 1]].state != UP:
            return False
    for k in range(w.tiers.shape[0]):
        for s in range(w.tiers[k].first, w.tiers[k].first + w.tiers[k].count):
            if node[s].state != UP:
                return False
    if c.bulk_redis and (g.master < 0 or node[g.master].state != UP
                         or (c.brk_on and g.brk_state != breaker.CLOSED)
                         or (c.bulk_write and c.min_replicas > g.good_replicas)):
        return False
    return not c.bulk_db or (g.primary >= 0 and node[g.primary].state == UP)


@jit()
def _kept(w, n, first, more):
    """The longest prefix of whole busy cycles before `first`, and before a request that finds
    every balancer connection taken: k such that every request before k is answered before
    request k arrives. `more`: the arrival after the candidates, if any, closes the last cycle."""
    g, resp = w.g[0], w.cand_response
    t0, cap = w.arr_t[g.next_arr:], w.node[g.vip].cap
    m = min(n, first)
    if _may_fill(t0, resp, m, cap):
        m = _before_full(t0, resp, w.cand_t[:, HEAP], m, cap)
    latest, kept = -math.inf, 0
    for i in range(m + 1):
        t = t0[i] if i < n or more else -math.inf
        if t > latest:
            kept = i
        if i == m:
            break
        latest = max(latest, resp[i])
    return kept


@jit()
def _may_fill(t0, resp, m, cap):
    """Whether `cap` requests can be in flight at once: as many arrive within the longest
    response time (a bound, so that the heap of _before_full is rarely needed)."""
    longest, lo = 0.0, 0
    for i in range(m):
        longest = max(longest, resp[i] - t0[i])
    for i in range(m):
        while t0[i] - t0[lo] > longest:
            lo += 1
        if i - lo >= cap:
            return True
    return False


@jit()
def _before_full(t0, resp, heap, m, cap):
    """The first request (up to m) that finds `cap` requests in flight, by a min-heap of the
    answer times of the requests in flight."""
    size = 0
    for i in range(m):
        while size and heap[0] < t0[i]:
            size -= 1
            _sift_down(heap, size, heap[size])
        if size >= cap:
            return i
        _sift_up(heap, size, resp[i])
        size += 1
    return m


@jit()
def _sift_up(heap, i, x):
    while i > 0 and heap[(i - 1) >> 1] > x:
        heap[i] = heap[(i - 1) >> 1]
        i = (i - 1) >> 1
    heap[i] = x


@jit()
def _sift_down(heap, n, x):
    """Puts x at the root of heap[:n] and lets it sink."""
    i = 0
    while 2 * i + 1 < n:
        c = 2 * i + 1
        if c + 1 < n and heap[c + 1] < heap[c]:
            c += 1
        if heap[c] >= x:
            break
        heap[i] = heap[c]
        i = c
    if n:
        heap[i] = x


@jit()
def _room(w, t_first):
    """How many requests the pools (and the incident samples, when the stretch may reach their
    window) have room for, and whether a service of the buffers would give more."""
    g, c = w.g[0], w.c[0]
    room, short = w.cand_t.shape[0], False
    for p in range(w.pools.shape[0]):
        if w.most_draws[p] and w.const[p] != w.const[p]:  # drawn from, and not a constant
            room = min(room, (w.pools.shape[1] - c.reserve - w.cursor[p]) // w.most_draws[p])
            short |= w.cursor[p] > 0
    if t_first < c.inc_to:
        inc_room = w.incident.shape[1] - MARGIN - g.n_inc
        short |= inc_room < w.cand_t.shape[0]
        room = min(room, inc_room)
    return room, short


@jit()
def _copy(dst, src):
    """dst[:] = src, which would allocate a temporary (compiled code here has no runtime)."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@jit()
def run(w, until, ctl_until):
    """Runs the calm stretch starting at the next arrival (the system empty); returns how many
    arrivals it took (0: none, the event loop goes on; -1: make room in the buffers first)."""
    g = w.g[0]
    if not eligible(w):
        return 0
    n = 0
    while g.next_arr + n < g.n_arr and w.arr_t[g.next_arr + n] < until and n < w.cand_t.shape[0]:
        n += 1
    room, short = _room(w, w.arr_t[g.next_arr])
    if room < n and short:
        return -1
    n = min(n, room)
    if n < MIN_RUN:
        return 0
    cursor, rr_read = w.cursor_before, g.rr_read
    _copy(cursor, w.cursor)
    for s in range(w.free.shape[0]):
        _copy(w.scratch_free[s], w.free[s])
    n, first = pass1(w, n, ctl_until)
    more = g.next_arr + n < g.n_arr
    k = _kept(w, n, first, more)
    _copy(w.cursor, cursor)
    g.rr_read = rr_read
    if k < MIN_RUN:
        return 0
    commit(w, k)
    for p in range(cursor.shape[0]):
        g.drawn += w.cursor[p] - cursor[p]
    g.rr_app = (g.rr_app + k) % g.n_rot
    g.rid += k
    g.next_arr += k
    g.bulk_n += k
    g.now = w.cand_t[k - 1, T_ARRIVED]
    return k
