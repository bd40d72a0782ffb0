"""The back of the request path, compiled: the session call (Redis behind the circuit breaker, the
session's db_fleet shard, or the PostgreSQL fallback), replication, then the business reads and
writes. Mirrors sim.engines.request_path (_session_call, _redis_call, _replicated, _db_call)."""
from __future__ import annotations

import math

from sim.engines.fast import breaker
from sim.engines.fast.books import fifo, lost_meanwhile, push, ring_add, sample
from sim.engines.fast.holds import done_in_app, fail
from sim.engines.fast.layout import (APP_LOST, CRASHED, DB_READ, DB_REASONS, DB_SESSION, DB_WRITE, EV_ACKED,
                             EV_CALL_AT, EV_CALL_BACK, EV_PG_SYNCED, EV_REDIS_AT, EV_REDIS_BACK,
                             FALLBACK, HUNG, LOST, OFF, OUTCOMES, READS, REDIS_DOWN, REDIS_LOST,
                             REDIS_NOREPLICAS, REDIS_REFUSED, REDIS_TIMEOUT, REDIS_WAIT, REFUSED,
                             SESSION, TIMEOUT, UP, WRITES)
from sim.engines.fast.world import jit
from sim.model.path import TIER

CACHE, CACHE_CALL = TIER["memcached"], -1  # a call's `call_what`: the cache, not a database


@jit()
def cpu_done(w, slot, t):
    r = w.rq[slot]
    if lost_meanwhile(w, r.call_st, r.call_ep, t):
        fail(w, slot, APP_LOST, t)
        return
    r.u = sample(w, w.c[0].p_route)  # the session's hash: its shard, its read replica
    r.step, r.k = SESSION, 0
    if w.ops[r.op].commands:
        session_call(w, slot, t)
    else:
        next_call(w, slot, t)


@jit()
def session_call(w, slot, t):
    g, c, r = w.g[0], w.c[0], w.rq[slot]
    write = w.ops[r.op].write
    pool = c.p_db_write if write else c.p_db_read
    if c.shards:
        db_call(w, slot, t, shard(w, r.u), pool, DB_SESSION)
    elif not breaker.allows(w, t):
        g.fallbacks += 1
        db_call(w, slot, t, g.primary, pool, FALLBACK)
    else:
        r.call_st = g.master  # the master the client knows now serves all the trips
        redis_trip(w, slot, t)


@jit()
def redis_trip(w, slot, t):
    g, c, r = w.g[0], w.c[0], w.rq[slot]
    if r.call_st < 0:
        fail(w, slot, REDIS_DOWN, t)
    elif w.ops[r.op].write and c.min_replicas > g.good_replicas:
        fail(w, slot, REDIS_NOREPLICAS, t)  # Redis refuses writes: min-replicas-to-write
    else:
        r.call_t0, r.half_s = t, sample(w, c.p_net_redis) / 2
        push(w, t + r.half_s, EV_REDIS_AT, slot)


@jit()
def redis_at(w, slot, t):
    c, r = w.c[0], w.rq[slot]
    s, op = r.call_st, w.ops[r.op]
    state = w.node[s].state
    patience = c.socket_s - r.half_s
    if state == CRASHED or state == OFF:
        fail(w, slot, REDIS_REFUSED, t)
        return
    if state == HUNG:
        fail(w, slot, REDIS_TIMEOUT, t + patience)
        return
    service = sample(w, c.p_redis_rt)
    for _ in range(op.commands if op.pipelined else 1):
        service += sample(w, c.p_redis_cmd)
    serve(w, slot, s, t, service, patience, REDIS_TIMEOUT, EV_REDIS_BACK, r.call_t0 + c.socket_s)


@jit()
def serve(w, slot, s, t, service, patience, timeout_reason, back, deadline):
    """The call waits at station s and is served, its reply half a round trip later; or it
    times out after `patience`, or when the client gives up at `deadline` (the station serves
    it all the same)."""
    r = w.rq[slot]
    r.call_ep = w.node[s].epoch
    dep = fifo(w, s, t, service, patience)
    if dep < 0:
        fail(w, slot, timeout_reason, t + patience)
    elif dep + r.half_s >= deadline:
        fail(w, slot, timeout_reason, deadline)
    else:
        r.call_dep = dep
        push(w, dep + r.half_s, back, slot)


@jit()
def redis_back(w, slot, t):
    c, r = w.c[0], w.rq[slot]
    op = w.ops[r.op]
    if lost_meanwhile(w, r.call_st, r.call_ep, r.call_dep):
        fail(w, slot, REDIS_LOST, t)
    else:
        r.k += 1
        if r.k < (1 if op.pipelined else op.commands):
            redis_trip(w, slot, t)
        elif not op.write:
            session_done(w, slot, t)
        elif c.wait_replicas:
            if w.g[0].good_replicas < c.wait_replicas:
                fail(w, slot, REDIS_WAIT, t + c.socket_s)
            else:  # WAIT n: acknowledged once a replica has it, unless the master dies first
                r.acked_t, r.call_ep = t, w.node[r.call_st].epoch
                push(w, t + c.wait_lag_s, EV_ACKED, slot)
        else:
            redis_ack(w, slot, t)


@jit()
def wait_acked(w, slot, t):
    r = w.rq[slot]
    if w.node[r.call_st].epoch != r.call_ep:
        fail(w, slot, REDIS_LOST, t)
    else:
        redis_ack(w, slot, r.acked_t)


@jit()
def redis_ack(w, slot, applied_t):
    """The write is acknowledged: the write log gets the time the master applied it, and each
    linked replica the commands to apply in its next batch."""
    g, r = w.g[0], w.rq[slot]
    commands = w.ops[r.op].commands
    ring_add(w.redis_acks, g.redis_acks, applied_t)
    g.redis_acks += 1
    g.redis_commands += commands
    for s in w.redis:
        if s != g.master and w.node[s].linked and w.node[s].state == UP:
            replica_batch(w, s, applied_t, commands)
    session_done(w, slot, g.now)


@jit()
def replica_batch(w, s, t, commands):
    """sim.engines.replication.replica_loop: every tick a replica applies, on its single thread, the
    commands written since its last batch."""
    st, c = w.node[s], w.c[0]
    tick_t = (math.floor(t / c.tick_s) + 1) * c.tick_s
    if tick_t != st.batch_t:
        flush_batch(w, s)
        st.batch_t = tick_t
    per_command = w.const[c.p_repl]
    if per_command == per_command:  # deterministic
        st.batch_s += commands * per_command
    else:
        for _ in range(commands):
            st.batch_s += sample(w, c.p_repl)


@jit()
def flush_batch(w, s):
    st = w.node[s]
    if st.batch_s > 0:
        fifo(w, s, st.batch_t, st.batch_s, math.inf)
    st.batch_s = 0.0


@jit()
def session_done(w, slot, t):
    breaker.success(w, t)
    next_call(w, slot, t)


@jit()
def next_call(w, slot, t):
    """After the session call, the business reads, then the writes, then the response."""
    g, c, r = w.g[0], w.c[0], w.rq[slot]
    op = w.ops[r.op]
    if r.step == SESSION:
        r.step, r.k = READS, 0
    if r.step == READS and r.k >= op.db_reads:
        r.step, r.k = WRITES, 0
    if r.step == READS:
        if w.tiers[CACHE].count:
            cache_call(w, slot, t)
        else:
            db_call(w, slot, t, db_reader(w, r.u), c.p_db_read, DB_READ)
    elif r.k < op.db_writes:
        db_call(w, slot, t, shard(w, r.u) if c.shards else g.primary, c.p_db_write, DB_WRITE)
    else:
        done_in_app(w, slot, t)


@jit()
def shard(w, u):
    shards = w.shards
    return shards[int(u * shards.shape[0])]


@jit()
def db_reader(w, u):
    """Reads balance over the read replicas that are up, else go to the primary."""
    g, topo = w.g[0], w
    if w.c[0].shards:
        return shard(w, u)
    n = 0
    for s in topo.readers:
        n += w.node[s].state == UP and s != g.primary
    if n == 0:
        return g.primary
    g.rr_read = (g.rr_read + 1) % n
    i = 0
    for s in topo.readers:
        if w.node[s].state == UP and s != g.primary:
            if i == g.rr_read:
                return s
            i += 1
    return g.primary


@jit()
def db_call(w, slot, t, server, pool, what):
    r = w.rq[slot]
    if server < 0:
        fail(w, slot, DB_REASONS + OUTCOMES * what, t)
        return
    r.call_st, r.call_pool, r.call_what = server, pool, what
    r.half_s = sample(w, w.c[0].p_net_db) / 2
    push(w, t + r.half_s, EV_CALL_AT, slot)


@jit()
def cache_call(w, slot, t):
    """sim.engines.request_path._cache_hit: the read asks its key's Memcached node first."""
    c, r, tier = w.c[0], w.rq[slot], w.tiers[CACHE]
    v = sample(w, c.p_cache_key) * tier.count
    r.call_st, r.call_u, r.call_what = tier.first + int(v), v - int(v), CACHE_CALL
    r.call_t0, r.half_s = t, sample(w, c.p_net_cache) / 2
    push(w, t + r.half_s, EV_CALL_AT, slot)


@jit()
def cache_at(w, slot, t):
    c, r, tier = w.c[0], w.rq[slot], w.tiers[CACHE]
    state = w.node[r.call_st].state
    patience = tier.timeout_s - r.half_s
    r.call_dep = -1.0  # no answer
    if state == CRASHED or state == OFF:
        cache_back(w, slot, t)
    elif state == HUNG:
        push(w, t + patience, EV_CALL_BACK, slot)
    else:
        r.call_ep = w.node[r.call_st].epoch
        dep = fifo(w, r.call_st, t, sample(w, c.p_cache_get), patience)
        if dep < 0 or dep + r.half_s >= r.call_t0 + tier.timeout_s:  # the client gave up
            push(w, r.call_t0 + tier.timeout_s, EV_CALL_BACK, slot)
        else:
            r.call_dep = dep
            push(w, dep + r.half_s, EV_CALL_BACK, slot)


@jit()
def cache_back(w, slot, t):
    """A hit answers the read; a miss, or no answer in time, sends it to the database."""
    r, tier = w.rq[slot], w.tiers[CACHE]
    if (r.call_dep < 0 or lost_meanwhile(w, r.call_st, r.call_ep, r.call_dep)
            or r.call_u >= tier.param):
        db_call(w, slot, t, db_reader(w, r.u), w.c[0].p_db_read, DB_READ)
    else:
        r.k += 1
        next_call(w, slot, t)


@jit()
def call_at(w, slot, t):
    c, r = w.c[0], w.rq[slot]
    if r.call_what == CACHE_CALL:
        cache_at(w, slot, t)
        return
    s = r.call_st
    state = w.node[s].state
    reason = DB_REASONS + OUTCOMES * r.call_what
    if state == CRASHED or state == OFF:
        fail(w, slot, reason + REFUSED, t)
    elif state == HUNG:
        fail(w, slot, reason + TIMEOUT, t + c.pool_s)
    else:
        serve(w, slot, s, t, sample(w, r.call_pool), c.pool_s, reason + TIMEOUT, EV_CALL_BACK, math.inf)


@jit()
def call_back(w, slot, t):
    c, r = w.c[0], w.rq[slot]
    if r.call_what == CACHE_CALL:
        cache_back(w, slot, t)
    elif lost_meanwhile(w, r.call_st, r.call_ep, r.call_dep):
        fail(w, slot, DB_REASONS + OUTCOMES * r.call_what + LOST, t)
    elif r.step == SESSION:
        next_call(w, slot, t)
    elif r.step == WRITES and not c.shards and c.pg_sync:
        push(w, t + c.pg_lag_s, EV_PG_SYNCED, slot)  # the commit waits for a standby's flush
    else:
        pg_committed(w, slot, t)


@jit()
def pg_committed(w, slot, t):
    g, r = w.g[0], w.rq[slot]
    if r.step == WRITES and not w.c[0].shards:
        ring_add(w.pg_acks, g.pg_acks, t)
        g.pg_acks += 1
    r.k += 1
    next_call(w, slot, t)
