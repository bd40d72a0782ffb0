"""The stages of a calm stretch (sim.fast.bulk): each takes the candidate requests in the order
they reach it, FIFO stations in closed form on scratch copies of their free times. What the
stretch keeps goes in the books in sim.fast.kept."""
from __future__ import annotations

import math

from sim.fast.books import earliest_server
from sim.fast.calls import db_reader
from sim.fast.world import jit
from sim.path import TIER

# bf columns, a row per candidate request (its fields side by side, those pass1's _workers reads
# first): its times (s), the halves of its round trips, the start of its service at the core,
# Redis and the database; HEAP is the scratch heap of bulk._before_full. Its response time is in
# bresp (NaN until known), apart, for bulk._kept's pass over arrivals and responses only
(T0, TW, DONE, TS, CPU_DEP, TR, TD, APP_HALF, PROXY, CPU_START, R_HALF, R_START, R_DEP,
 D_HALF, D_START, D_DEP, HEAP, TC, C_HALF, C_START, C_DEP, C_U, TQ, N_BF) = range(24)
# TC: it reaches the cache; C_U: its key's draw (a hit below the hit ratio); TQ: it leaves for
# the database (TS, or when the cache's miss is back)
# bi columns: its operation, app server, database station (-1: none) and the pool of that call,
# its cache node (-1: none)
OP, APP, DB_ST, DB_POOL, CACHE_ST, N_BI = range(6)
# border rows: the order in which each stage takes the candidates (by the time they reach it):
# the core (by TW), the session hash (CPU_DEP), Redis (TR), the cache's half trip (TS), the
# cache (TC), the database's half trip (TQ), the database (TD); bcount: per stage, how many it
# took [0] and how many reached it [1]
AT_CPU, AT_HASH, AT_REDIS, AT_CACHE_HALF, AT_CACHE, AT_DB_HALF, AT_DB, N_ORDERS = range(8)
CACHE = TIER["memcached"]
ROUND = 2048  # arrivals per round of pass1: what a round touches stays in the core's cache


@jit()
def pass1(w, n, until):
    """Every stage for up to n candidates, in rounds of ROUND arrivals; returns how many it ran
    and the first of them (in arrival order) that breaks a rule of the calm path, or that many:
    a call timed out, a worker would have been waited for, or the response comes at or after
    `until`. It stops after the round in which one is found: any number of candidates gives
    the same kept prefix, up to where it ends (sim.fast.bulk).
    In a round, each stage takes the requests that reach it before the next round's first
    arrival, in time order; every later request reaches every stage after that, so each stage
    takes them all in the order of a single pass, while a round's rows stay in cache."""
    g = w.g[0]
    w.bcount[:, :] = 0
    w.bbusy[:] = 0  # every worker free: the system is empty when a stretch starts
    walked, first = 0, n
    for a in range(0, n, ROUND):
        b = min(n, a + ROUND)
        front(w, a, b)
        _stages(w, w.arr_t[g.next_arr + b] if b < n else math.inf)
        walked, first = _workers(w, walked, first, until)
        if first < n and b < n:  # the candidates so far, to the end
            _stages(w, math.inf)
            walked, first = _workers(w, walked, first, until)
            return b, first
    return n, first


@jit()
def _stages(w, before):
    """A round of every stage after the front, up to `before`."""
    cpu(w, *_due(w, AT_CPU, TW, before))
    session_hash(w, *_due(w, AT_HASH, CPU_DEP, before))
    redis(w, *_due(w, AT_REDIS, TR, before))
    if w.tiers[CACHE].count:
        cache_half(w, *_due(w, AT_CACHE_HALF, TS, before))
        cache(w, *_due(w, AT_CACHE, TC, before))
        db_half(w, *_due(w, AT_DB_HALF, TQ, before, AT_CACHE))
    else:
        db_half(w, *_due(w, AT_DB_HALF, TS, before, AT_REDIS))
    database(w, *_due(w, AT_DB, TD, before))


@jit()
def acks_stage(w):
    """The stage whose order is the order the Redis replies come back in (by TS)."""
    return AT_CACHE_HALF if w.tiers[CACHE].count else AT_DB_HALF


@jit()
def _workers(w, walked, first, until):
    """The candidates whose response is known, in the order they reach their app server: bbad
    marks one that finds all its server's workers busy. Returns how many were walked, and the
    first that broke a rule."""
    bf, bi, order, bad, resp = w.bf, w.bi, w.border[AT_CPU], w.bbad, w.bresp
    end = w.bcount[1, AT_CPU]
    while walked < end:
        i = order[walked]
        if resp[i] != resp[i]:  # NaN: not through the database stage yet
            break
        a = bi[i, APP]
        if not _take_worker(w.bwork, w.bbusy, a, w.node[w.apps[a, 0]].cap, bf[i, TW], bf[i, DONE]):
            bad[i] = 1
        if bad[i] or resp[i] >= until:
            first = min(first, i)
        walked += 1
    return walked, first


@jit(inline="always")
def _take_worker(heap, busy, a, cap, t, release):
    """App server a's worker for a request reaching it at t and letting go at `release`: whether
    one was free at t. heap[a, :busy[a]] holds the release times of the workers taken in this
    stretch as a min-heap; the others are free. The request takes a never-taken worker, else the
    one released first (even when that is after t: the stretch ends there anyway): the same
    release times as scanning every worker for the earliest, at O(log workers) a request."""
    n = busy[a]
    if n < cap:
        busy[a] = n + 1
        i = n
        while i > 0 and heap[a, (i - 1) >> 1] > release:
            heap[a, i] = heap[a, (i - 1) >> 1]
            i = (i - 1) >> 1
        heap[a, i] = release
        return True
    earliest = heap[a, 0]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and heap[a, c + 1] < heap[a, c]:
            c += 1
        if heap[a, c] >= release:
            break
        heap[a, i] = heap[a, c]
        i = c
    heap[a, i] = release
    return earliest <= t


@jit()
def _due(w, s, key, before, prev=-1):
    """Stage s's part of a round: the requests the stage before it (prev, else s - 1) took reach
    it (s > AT_CPU); sorted by the time they reach it (stable: an insertion sort, cheap on nearly
    sorted input), those that reach it before `before` are taken: the range of order[s] to run."""
    order, count, bf = w.border[s], w.bcount, w.bf
    if s > AT_CPU:
        prev = s - 1 if prev < 0 else prev
        for j in range(count[1, s], count[0, prev]):
            order[j] = w.border[prev, j]
        count[1, s] = count[0, prev]
    lo, end = count[0, s], count[1, s]
    for i in range(lo + 1, end):
        x = order[i]
        kx = bf[x, key]
        j = i - 1
        while j >= lo and bf[order[j], key] > kx:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = x
    hi = lo
    while hi < end and bf[order[hi], key] < before:
        hi += 1
    count[0, s] = hi
    return lo, hi


@jit(inline="always")
def _draw(const, cursor, pools, p):
    """sim.fast.books.sample on arrays the caller holds; the engine's count of draws (g.drawn) is
    brought up to date when the stretch is kept."""
    v = const[p]
    if v == v:
        return v
    i = cursor[p]
    cursor[p] = i + 1
    return pools[p, i]


@jit(inline="always")
def _kw(free, node, s, t, service, patience):
    """sim.fast.books.fifo without the books, on a scratch copy of the servers' free times:
    (start, departure), or (-1, -1) if it left after waiting `patience`."""
    k, earliest = earliest_server(free, s, node[s].cap)
    if earliest > t and earliest - t > patience:
        return -1.0, -1.0
    start = max(earliest, t)
    free[s, k] = start + service * node[s].slow
    return start, free[s, k]


@jit()
def front(w, a, b):
    """Candidates a..b-1 arrive: the balancer, round robin, the half trip to the app server."""
    g, c, bf, bi, order = w.g[0], w.c[0], w.bf, w.bi, w.border[AT_CPU]
    const, cursor, pools, arr_t, arr_op, rot = w.const, w.cursor, w.pools, w.arr_t, w.arr_op, w.rot
    first, n_rot, p_lb, p_app, resp = g.next_arr, g.n_rot, c.p_lb, c.p_net_app, w.bresp
    turn = (g.rr_app + 1 + a) % n_rot
    for i in range(a, b):
        bf[i, T0] = arr_t[first + i]
        bi[i, OP] = arr_op[first + i]
        bi[i, APP] = rot[turn]
        turn = turn + 1 if turn + 1 < n_rot else 0
        bf[i, PROXY] = _draw(const, cursor, pools, p_lb)
        bf[i, APP_HALF] = _draw(const, cursor, pools, p_app) / 2
        bf[i, TW] = bf[i, T0] + bf[i, PROXY] + bf[i, APP_HALF]
        resp[i] = math.nan
        w.bbad[i] = 0
        bi[i, CACHE_ST] = -1
        order[i] = i
    w.bcount[1, AT_CPU] = b


@jit()
def cpu(w, lo, hi):
    """The worker (never waited for on the calm path), then a core of its app server."""
    bf, bi, order, free, node, ops, apps = w.bf, w.bi, w.border[AT_CPU], w.bfree, w.node, w.ops, w.apps
    const, cursor, pools = w.const, w.cursor, w.pools
    for j in range(lo, hi):
        i = order[j]
        service = _draw(const, cursor, pools, ops[bi[i, OP]].cpu_pool)
        bf[i, CPU_START], bf[i, CPU_DEP] = _kw(free, node, apps[bi[i, APP], 1], bf[i, TW], service, math.inf)


@jit()
def session_hash(w, lo, hi):
    """The session hash, then the half trip to Redis."""
    c, bf, bi, order, ops, u = w.c[0], w.bf, w.bi, w.border[AT_HASH], w.ops, w.bu
    const, cursor, pools, p_route, p_net = w.const, w.cursor, w.pools, c.p_route, c.p_net_redis
    for j in range(lo, hi):
        i = order[j]
        u[i] = _draw(const, cursor, pools, p_route)
        bf[i, TR] = bf[i, CPU_DEP]
        if ops[bi[i, OP]].commands:
            bf[i, R_HALF] = _draw(const, cursor, pools, p_net) / 2
            bf[i, TR] += bf[i, R_HALF]


@jit()
def redis(w, lo, hi):
    """The Redis round trip; bbad marks a timed-out call."""
    c, bf, bi, order, ops = w.c[0], w.bf, w.bi, w.border[AT_REDIS], w.ops
    free, node, bad = w.bfree, w.node, w.bbad
    const, cursor, pools, p_rt, p_cmd = w.const, w.cursor, w.pools, c.p_redis_rt, c.p_redis_cmd
    master, socket_s = w.g[0].master, c.socket_s
    for j in range(lo, hi):
        i = order[j]
        op = ops[bi[i, OP]]
        bf[i, TS] = bf[i, CPU_DEP]
        if op.commands:
            service = _draw(const, cursor, pools, p_rt)
            for _ in range(op.commands if op.pipelined else 1):
                service += _draw(const, cursor, pools, p_cmd)
            half = bf[i, R_HALF]
            bf[i, R_START], dep = _kw(free, node, master, bf[i, TR], service, socket_s - half)
            bf[i, R_DEP], bf[i, TS] = dep, dep + half
            if dep < 0 or dep + half - bf[i, CPU_DEP] > socket_s:
                bad[i] = 1


@jit()
def cache_half(w, lo, hi):
    """A read's key (its cache node, whether it hits), then the half trip to the cache."""
    c, bf, bi, order, ops, tier = w.c[0], w.bf, w.bi, w.border[AT_CACHE_HALF], w.ops, w.tiers[CACHE]
    for j in range(lo, hi):
        i = order[j]
        op = ops[bi[i, OP]]
        _reply(w, j, bf[i, TS], op)
        bi[i, CACHE_ST] = -1
        bf[i, TC] = bf[i, TS]
        if op.db_reads:
            v = _draw(w.const, w.cursor, w.pools, c.p_cache_key) * tier.count
            bi[i, CACHE_ST] = tier.first + int(v)
            bf[i, C_U] = v - int(v)
            bf[i, C_HALF] = _draw(w.const, w.cursor, w.pools, c.p_net_cache) / 2
            bf[i, TC] += bf[i, C_HALF]


@jit()
def cache(w, lo, hi):
    """The cache's get; a hit answers the read (no database call), a miss leaves for the
    database when the reply is back. bbad marks a get that timed out."""
    c, bf, bi, order, free, node, bad = w.c[0], w.bf, w.bi, w.border[AT_CACHE], w.bfree, w.node, w.bbad
    tier = w.tiers[CACHE]
    for j in range(lo, hi):
        i = order[j]
        s = bi[i, CACHE_ST]
        bf[i, TQ] = bf[i, TS]
        if s >= 0:
            service = _draw(w.const, w.cursor, w.pools, c.p_cache_get)
            half = bf[i, C_HALF]
            bf[i, C_START], dep = _kw(free, node, s, bf[i, TC], service, tier.timeout_s - half)
            bf[i, C_DEP], bf[i, TQ] = dep, dep + half
            if dep < 0 or dep + half - bf[i, TS] > tier.timeout_s:
                bad[i] = 1


@jit(inline="always")
def _reply(w, j, t, op):
    """The j-th Redis reply to come back: when, and the commands it acknowledges written."""
    w.backs[j], w.bcmds[j] = t, op.commands if op.commands and op.write else 0


@jit()
def db_half(w, lo, hi):
    """At most one database call: a read on a replica (round robin), unless the cache answered
    it, or a write on the primary; its half trip."""
    g, c, bf, bi, order, ops = w.g[0], w.c[0], w.bf, w.bi, w.border[AT_DB_HALF], w.ops
    caching, hit_ratio = w.tiers[CACHE].count > 0, w.tiers[CACHE].param
    for j in range(lo, hi):
        i = order[j]
        op = ops[bi[i, OP]]
        if not caching:
            _reply(w, j, bf[i, TS], op)
        t = bf[i, TQ] if caching else bf[i, TS]
        bi[i, DB_ST] = -1
        bf[i, TD] = bf[i, DONE] = t
        if caching and op.db_reads and bf[i, C_U] < hit_ratio:
            continue
        if op.db_reads or op.db_writes:
            bi[i, DB_ST] = db_reader(w, w.bu[i]) if op.db_reads else g.primary
            bi[i, DB_POOL] = c.p_db_read if op.db_reads else c.p_db_write
            bf[i, D_HALF] = _draw(w.const, w.cursor, w.pools, c.p_net_db) / 2
            bf[i, TD] = t + bf[i, D_HALF]


@jit()
def database(w, lo, hi):
    """The database call, then the half trip back to the balancer."""
    c, bf, bi, order, free, node, bad = w.c[0], w.bf, w.bi, w.border[AT_DB], w.bfree, w.node, w.bbad
    const, cursor, pools, patience, resp = w.const, w.cursor, w.pools, c.pool_s, w.bresp
    for j in range(lo, hi):
        i = order[j]
        s = bi[i, DB_ST]
        if s >= 0:
            service = _draw(const, cursor, pools, bi[i, DB_POOL])
            bf[i, D_START], dep = _kw(free, node, s, bf[i, TD], service, patience)
            bf[i, D_DEP], bf[i, DONE] = dep, dep + bf[i, D_HALF]
            bad[i] |= dep < 0
        resp[i] = bf[i, DONE] + bf[i, APP_HALF]
