"""The stages of a calm stretch (sim.engines.fast.bulk): each takes the candidate requests in the order
they reach it, FIFO stations in closed form on scratch copies of their free times. What the
stretch keeps goes in the books in sim.engines.fast.kept."""
from __future__ import annotations

import math

from sim.engines.fast.books import earliest_server
from sim.engines.fast.calls import db_reader
from sim.engines.fast.world import jit
from sim.model.path import TIER

# cand_t columns (t_of in the code), a row per candidate request, those pass1's _workers reads
# first: when it arrives, reaches its worker, is done in the app (its worker released), is done
# with its session call, leaves its core, reaches Redis, reaches the database; half its round
# trip to the app server; its proxying time; its core's start; its Redis call's half round trip,
# start, departure; the same for its database call; HEAP, the scratch heap of
# bulk._before_full; when it reaches the cache, the half round trip, start and departure of its
# get, its key's draw (a hit below the hit ratio); when it leaves for the database (done with its
# session call, or back from a cache miss). Its response time is apart (cand_response), for
# bulk._kept's pass over arrivals and responses only.
(T_ARRIVED, T_WORKER, T_DONE, T_SESSION_DONE, CPU_DEP, T_REDIS, T_DB, APP_HALF, PROXY, CPU_START,
 REDIS_HALF, REDIS_START, REDIS_DEP, DB_HALF, DB_START, DB_DEP, HEAP, T_CACHE, CACHE_HALF,
 CACHE_START, CACHE_DEP, CACHE_U, T_DB_CALL, N_T) = range(24)
# cand_at columns (at_of): its operation, app server, database station (-1: none) and the pool
# of that call's service, its cache node (-1: none)
OP, APP, DB_STATION, DB_POOL, CACHE_STATION, N_AT = range(6)
# stage_order rows: the order in which each stage takes the candidates, by the time they reach
# it: the core (T_WORKER), the session hash (CPU_DEP), Redis (T_REDIS), the cache's half trip
# (T_SESSION_DONE), the cache (T_CACHE), the database's half trip (T_DB_CALL), the database (T_DB)
AT_CPU, AT_HASH, AT_REDIS, AT_CACHE_HALF, AT_CACHE, AT_DB_HALF, AT_DB, N_ORDERS = range(8)
CACHE = TIER["memcached"]
ROUND = 2048  # arrivals per round of pass1: what a round touches stays in the core's cache


@jit()
def pass1(w, n, until):
    """Every stage for up to n candidates, in rounds of ROUND arrivals; returns how many it ran
    and the first of them (in arrival order) that breaks a rule of the calm path, or that many:
    a call timed out, a worker would have been waited for, or the response comes at or after
    `until`. It stops after the round in which one is found: any number of candidates gives
    the same kept prefix, up to where it ends (sim.engines.fast.bulk).
    In a round, each stage takes the requests that reach it before the next round's first
    arrival, in time order; every later request reaches every stage after that, so each stage
    takes them all in the order of a single pass, while a round's rows stay in cache."""
    g = w.g[0]
    w.stage_count[:, :] = 0
    w.workers_taken[:] = 0  # every worker free: the system is empty when a stretch starts
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
    cpu(w, *_due(w, AT_CPU, T_WORKER, before))
    session_hash(w, *_due(w, AT_HASH, CPU_DEP, before))
    redis(w, *_due(w, AT_REDIS, T_REDIS, before))
    if w.tiers[CACHE].count:
        cache_half(w, *_due(w, AT_CACHE_HALF, T_SESSION_DONE, before))
        cache(w, *_due(w, AT_CACHE, T_CACHE, before))
        db_half(w, *_due(w, AT_DB_HALF, T_DB_CALL, before, AT_CACHE))
    else:
        db_half(w, *_due(w, AT_DB_HALF, T_SESSION_DONE, before, AT_REDIS))
    database(w, *_due(w, AT_DB, T_DB, before))


@jit()
def acks_stage(w):
    """The stage whose order is the order the Redis replies come back in (by T_SESSION_DONE)."""
    return AT_CACHE_HALF if w.tiers[CACHE].count else AT_DB_HALF


@jit()
def _workers(w, walked, first, until):
    """The candidates whose response is known, in the order they reach their app server: cand_broke
    marks one that finds all its server's workers busy. Returns how many were walked, and the
    first that broke a rule."""
    t_of, at_of, order, bad, resp = w.cand_t, w.cand_at, w.stage_order[AT_CPU], w.cand_broke, w.cand_response
    end = w.stage_count[1, AT_CPU]
    while walked < end:
        i = order[walked]
        if resp[i] != resp[i]:  # NaN: not through the database stage yet
            break
        a = at_of[i, APP]
        cap = w.node[w.apps[a, 0]].cap
        if not _take_worker(w.worker_release, w.workers_taken, a, cap, t_of[i, T_WORKER], t_of[i, T_DONE]):
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
    order, count, t_of = w.stage_order[s], w.stage_count, w.cand_t
    if s > AT_CPU:
        prev = s - 1 if prev < 0 else prev
        for j in range(count[1, s], count[0, prev]):
            order[j] = w.stage_order[prev, j]
        count[1, s] = count[0, prev]
    lo, end = count[0, s], count[1, s]
    for i in range(lo + 1, end):
        x = order[i]
        kx = t_of[x, key]
        j = i - 1
        while j >= lo and t_of[order[j], key] > kx:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = x
    hi = lo
    while hi < end and t_of[order[hi], key] < before:
        hi += 1
    count[0, s] = hi
    return lo, hi


@jit(inline="always")
def _draw(const, cursor, pools, p):
    """sim.engines.fast.books.sample on arrays the caller holds; the engine's count of draws (g.drawn) is
    brought up to date when the stretch is kept."""
    v = const[p]
    if v == v:
        return v
    i = cursor[p]
    cursor[p] = i + 1
    return pools[p, i]


@jit(inline="always")
def _kw(free, node, s, t, service, patience):
    """sim.engines.fast.books.fifo without the books, on a scratch copy of the servers' free times:
    (start, departure); one that would wait longer than `patience` never starts (inf) and leaves
    the queue when its patience runs out. (Later stages then see it no earlier than that, after
    every request of the busy cycles a stretch keeps: a time before its arrival would take their
    samples and servers.)"""
    k, earliest = earliest_server(free, s, node[s].cap)
    if earliest > t and earliest - t > patience:
        return math.inf, t + patience
    start = max(earliest, t)
    free[s, k] = start + service * node[s].slow
    return start, free[s, k]


@jit()
def front(w, a, b):
    """Candidates a..b-1 arrive: the balancer, round robin, the half trip to the app server."""
    g, c, t_of, at_of, order = w.g[0], w.c[0], w.cand_t, w.cand_at, w.stage_order[AT_CPU]
    const, cursor, pools, arr_t, arr_op, rot = w.const, w.cursor, w.pools, w.arr_t, w.arr_op, w.rot
    first, n_rot, p_lb, p_app, resp = g.next_arr, g.n_rot, c.p_lb, c.p_net_app, w.cand_response
    turn = (g.rr_app + 1 + a) % n_rot
    for i in range(a, b):
        t_of[i, T_ARRIVED] = arr_t[first + i]
        at_of[i, OP] = arr_op[first + i]
        at_of[i, APP] = rot[turn]
        turn = turn + 1 if turn + 1 < n_rot else 0
        t_of[i, PROXY] = _draw(const, cursor, pools, p_lb)
        t_of[i, APP_HALF] = _draw(const, cursor, pools, p_app) / 2
        t_of[i, T_WORKER] = t_of[i, T_ARRIVED] + t_of[i, PROXY] + t_of[i, APP_HALF]
        resp[i] = math.nan
        w.cand_broke[i] = 0
        at_of[i, CACHE_STATION] = -1
        order[i] = i
    w.stage_count[1, AT_CPU] = b


@jit()
def cpu(w, lo, hi):
    """The worker (never waited for on the calm path), then a core of its app server."""
    t_of, at_of, order, ops, apps = w.cand_t, w.cand_at, w.stage_order[AT_CPU], w.ops, w.apps
    free, node = w.scratch_free, w.node
    const, cursor, pools = w.const, w.cursor, w.pools
    for j in range(lo, hi):
        i = order[j]
        service = _draw(const, cursor, pools, ops[at_of[i, OP]].cpu_pool)
        core = apps[at_of[i, APP], 1]
        t_of[i, CPU_START], t_of[i, CPU_DEP] = _kw(free, node, core, t_of[i, T_WORKER], service, math.inf)


@jit()
def session_hash(w, lo, hi):
    """The session hash, then the half trip to Redis."""
    c, t_of, at_of, order, ops, u = w.c[0], w.cand_t, w.cand_at, w.stage_order[AT_HASH], w.ops, w.cand_hash
    const, cursor, pools, p_route, p_net = w.const, w.cursor, w.pools, c.p_route, c.p_net_redis
    for j in range(lo, hi):
        i = order[j]
        u[i] = _draw(const, cursor, pools, p_route)
        t_of[i, T_REDIS] = t_of[i, CPU_DEP]
        if ops[at_of[i, OP]].commands:
            t_of[i, REDIS_HALF] = _draw(const, cursor, pools, p_net) / 2
            t_of[i, T_REDIS] += t_of[i, REDIS_HALF]


@jit()
def redis(w, lo, hi):
    """The Redis round trip; cand_broke marks a timed-out call."""
    c, t_of, at_of, order, ops = w.c[0], w.cand_t, w.cand_at, w.stage_order[AT_REDIS], w.ops
    free, node, bad = w.scratch_free, w.node, w.cand_broke
    const, cursor, pools, p_rt, p_cmd = w.const, w.cursor, w.pools, c.p_redis_rt, c.p_redis_cmd
    master, socket_s = w.g[0].master, c.socket_s
    for j in range(lo, hi):
        i = order[j]
        op = ops[at_of[i, OP]]
        t_of[i, T_SESSION_DONE] = t_of[i, CPU_DEP]
        if op.commands:
            service = _draw(const, cursor, pools, p_rt)
            for _ in range(op.commands if op.pipelined else 1):
                service += _draw(const, cursor, pools, p_cmd)
            half = t_of[i, REDIS_HALF]
            start, dep = _kw(free, node, master, t_of[i, T_REDIS], service, socket_s - half)
            t_of[i, REDIS_START], t_of[i, REDIS_DEP], t_of[i, T_SESSION_DONE] = start, dep, dep + half
            if start == math.inf or dep + half - t_of[i, CPU_DEP] >= socket_s:  # the client gives up
                bad[i] = 1


@jit()
def cache_half(w, lo, hi):
    """A read's key (its cache node, whether it hits), then the half trip to the cache."""
    c, t_of, at_of, ops, tier = w.c[0], w.cand_t, w.cand_at, w.ops, w.tiers[CACHE]
    order = w.stage_order[AT_CACHE_HALF]
    for j in range(lo, hi):
        i = order[j]
        op = ops[at_of[i, OP]]
        _reply(w, j, t_of[i, T_SESSION_DONE], op)
        at_of[i, CACHE_STATION] = -1
        t_of[i, T_CACHE] = t_of[i, T_SESSION_DONE]
        if op.db_reads:
            v = _draw(w.const, w.cursor, w.pools, c.p_cache_key) * tier.count
            at_of[i, CACHE_STATION] = tier.first + int(v)
            t_of[i, CACHE_U] = v - int(v)
            t_of[i, CACHE_HALF] = _draw(w.const, w.cursor, w.pools, c.p_net_cache) / 2
            t_of[i, T_CACHE] += t_of[i, CACHE_HALF]


@jit()
def cache(w, lo, hi):
    """The cache's get; a hit answers the read (no database call), a miss leaves for the
    database when the reply is back. cand_broke marks a get that timed out."""
    c, t_of, at_of, order = w.c[0], w.cand_t, w.cand_at, w.stage_order[AT_CACHE]
    free, node, bad = w.scratch_free, w.node, w.cand_broke
    tier = w.tiers[CACHE]
    for j in range(lo, hi):
        i = order[j]
        s = at_of[i, CACHE_STATION]
        t_of[i, T_DB_CALL] = t_of[i, T_SESSION_DONE]
        if s >= 0:
            service = _draw(w.const, w.cursor, w.pools, c.p_cache_get)
            half = t_of[i, CACHE_HALF]
            start, dep = _kw(free, node, s, t_of[i, T_CACHE], service, tier.timeout_s - half)
            t_of[i, CACHE_START], t_of[i, CACHE_DEP], t_of[i, T_DB_CALL] = start, dep, dep + half
            if start == math.inf or dep + half - t_of[i, T_SESSION_DONE] >= tier.timeout_s:
                bad[i] = 1


@jit(inline="always")
def _reply(w, j, t, op):
    """The j-th Redis reply to come back: when, and the commands it acknowledges written."""
    w.reply_t[j], w.reply_commands[j] = t, op.commands if op.commands and op.write else 0


@jit()
def db_half(w, lo, hi):
    """At most one database call: a read on a replica (round robin), unless the cache answered
    it, or a write on the primary; its half trip."""
    g, c, t_of, at_of, order, ops = w.g[0], w.c[0], w.cand_t, w.cand_at, w.stage_order[AT_DB_HALF], w.ops
    caching, hit_ratio = w.tiers[CACHE].count > 0, w.tiers[CACHE].param
    for j in range(lo, hi):
        i = order[j]
        op = ops[at_of[i, OP]]
        if not caching:
            _reply(w, j, t_of[i, T_SESSION_DONE], op)
        t = t_of[i, T_DB_CALL] if caching else t_of[i, T_SESSION_DONE]
        at_of[i, DB_STATION] = -1
        t_of[i, T_DB] = t_of[i, T_DONE] = t
        if caching and op.db_reads and t_of[i, CACHE_U] < hit_ratio:
            continue
        if op.db_reads or op.db_writes:
            at_of[i, DB_STATION] = db_reader(w, w.cand_hash[i]) if op.db_reads else g.primary
            at_of[i, DB_POOL] = c.p_db_read if op.db_reads else c.p_db_write
            t_of[i, DB_HALF] = _draw(w.const, w.cursor, w.pools, c.p_net_db) / 2
            t_of[i, T_DB] = t + t_of[i, DB_HALF]


@jit()
def database(w, lo, hi):
    """The database call, then the half trip back to the balancer."""
    c, t_of, at_of, order = w.c[0], w.cand_t, w.cand_at, w.stage_order[AT_DB]
    free, node, bad = w.scratch_free, w.node, w.cand_broke
    const, cursor, pools, patience, resp = w.const, w.cursor, w.pools, c.pool_s, w.cand_response
    for j in range(lo, hi):
        i = order[j]
        s = at_of[i, DB_STATION]
        if s >= 0:
            service = _draw(const, cursor, pools, at_of[i, DB_POOL])
            start, dep = _kw(free, node, s, t_of[i, T_DB], service, patience)
            t_of[i, DB_START], t_of[i, DB_DEP], t_of[i, T_DONE] = start, dep, dep + t_of[i, DB_HALF]
            bad[i] |= start == math.inf
        resp[i] = t_of[i, T_DONE] + t_of[i, APP_HALF]
