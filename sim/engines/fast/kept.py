"""The books of the requests a calm stretch keeps (sim.engines.fast.bulk), entered as the event loop
enters them: the stations' visits, the latencies, the acknowledged writes and the replicas'
batches; the pools' cursors past the samples pass 1 drew for them."""
from __future__ import annotations

import math

from sim.engines.fast import breaker
from sim.engines.fast.books import (LOG_OK, arrived, complete, leave, log_request, record_arrival,
                            ring_add, span, visit)
from sim.engines.fast.calls import db_reader, flush_batch
from sim.engines.fast.layout import UP
from sim.engines.fast.stages import (APP, CACHE_DEP, CACHE_START, CACHE_STATION, CPU_DEP, CPU_START, DB_DEP,
                             DB_START, DB_STATION, OP, REDIS_DEP, REDIS_START, T_ARRIVED, T_CACHE,
                             T_DB, T_DONE, T_REDIS, T_WORKER, acks_stage)
from sim.engines.fast.world import jit
from sim.model.path import HOP

BALANCER, APP_HOP, REDIS, DATABASE, CACHE = (HOP[h] for h in ("balancer", "app", "redis", "database",
                                                               "cache"))


@jit()
def commit(w, k):
    """The books of the first k candidates, the samples they drew, the state they leave. The
    stations are idle again when request k arrives: their free times need no update."""
    g, c, t_of, at_of, ops, apps, taken = w.g[0], w.c[0], w.cand_t, w.cand_at, w.ops, w.apps, w.hop_visits
    node, busy, queue, st_hist, bins = w.node, w.busy, w.queue, w.st_hist, w.bins
    hist, hist_s, step_hist, incident, pg_acks = w.hist, w.hist_s, w.step_hist, w.incident, w.pg_acks
    warm, end, vip, master, resp = c.warmup_s, c.duration_s, g.vip, g.master, w.cand_response
    for i in range(k):
        o = at_of[i, OP]
        op = ops[o]
        taken[o, BALANCER] += 1
        taken[o, APP_HOP] += 1
        taken[o, REDIS] += 1
        workers, t0, tw = apps[at_of[i, APP], 0], t_of[i, T_ARRIVED], t_of[i, T_WORKER]
        record_arrival(w, t0)
        arrived(w, vip, t0)
        arrived(w, workers, tw)
        cpu = apps[at_of[i, APP], 1]
        visit(node, busy, queue, st_hist, cpu, tw, t_of[i, CPU_START], t_of[i, CPU_DEP], warm, end)
        if op.commands:
            visit(node, busy, queue, st_hist, master, t_of[i, T_REDIS], t_of[i, REDIS_START],
                  t_of[i, REDIS_DEP], warm, end)
        if at_of[i, CACHE_STATION] >= 0:
            visit(node, busy, queue, st_hist, at_of[i, CACHE_STATION], t_of[i, T_CACHE],
                  t_of[i, CACHE_START], t_of[i, CACHE_DEP], warm, end)
            taken[o, CACHE] += 1
        s = at_of[i, DB_STATION]
        if s >= 0:
            if op.db_reads:
                db_reader(w, w.cand_hash[i])  # the round robin moves on
            visit(node, busy, queue, st_hist, s, t_of[i, T_DB], t_of[i, DB_START], t_of[i, DB_DEP], warm, end)
            taken[o, DATABASE] += 1
            if op.db_writes:
                ring_add(pg_acks, g.pg_acks, t_of[i, T_DONE])
                g.pg_acks += 1
        node[workers].busy_s += span(busy, workers, tw, t_of[i, T_DONE], warm, end)
        leave(node, st_hist, workers, tw, t_of[i, T_DONE], warm, end)
        node[vip].busy_s += span(busy, vip, t0, resp[i], warm, end)
        leave(node, st_hist, vip, t0, resp[i], warm, end)
        complete(c, g, bins, hist, hist_s, step_hist, incident, at_of[i, OP], t0, resp[i], op.write)
    for i in range(min(k, w.req_log.shape[0] - g.rid)):  # those logged (simulation.log_requests)
        log_request(w.req_log, g.rid + i, t_of[i, T_ARRIVED], resp[i], at_of[i, OP], LOG_OK, at_of[i, APP])
    if c.bulk_redis:
        breaker.success(w, g.now)  # closed, as a calm stretch needs it: the count of failures ends
    _skip_drawn(w)
    _acks(w, k)


@jit()
def _skip_drawn(w):
    """Moves the pools' cursors past the samples the kept requests drew in pass 1: each hop's
    visits by each operation (hop_visits, then zeroed), times what one visit draws (sim.model.path)."""
    taken, draws = w.hop_visits, w.hop_draws
    for o in range(taken.shape[0]):
        for h in range(taken.shape[1]):
            m = taken[o, h]
            taken[o, h] = 0
            for p in range(draws.shape[2]):
                _skip(w, p, m * draws[o, h, p])


@jit()
def _skip(w, p, m):
    if w.const[p] != w.const[p]:  # drawn from, not a constant
        w.cursor[p] += m


@jit()
def _acks(w, k):
    """calls.redis_ack for the kept writes, in the order the replies come back (the kept
    requests' replies all come back before the others'); then each linked replica's batches."""
    g, c, backs, cmds, stage = w.g[0], w.c[0], w.reply_t, w.reply_commands, acks_stage(w)
    order, m, commands = w.stage_order[stage], 0, 0
    while m < w.stage_count[0, stage] and order[m] < k:
        if cmds[m]:
            ring_add(w.redis_acks, g.redis_acks, backs[m])
            g.redis_acks += 1
            commands += cmds[m]
        m += 1
    g.redis_commands += commands
    replicas = 0
    for s in w.redis:
        replicas += _linked(w, s)
    rank = 0
    for s in w.redis:
        if _linked(w, s):
            _batches(w, s, m, rank, replicas)
            rank += 1
    _skip(w, c.p_repl, replicas * commands)


@jit()
def _linked(w, s):
    return s != w.g[0].master and w.node[s].linked and w.node[s].state == UP


@jit()
def _batches(w, s, m, rank, replicas):
    """calls.replica_batch for replica s and the first m replies, its batch kept in registers.
    The replicas take the replication service's samples in turn, reply by reply, as the event
    loop draws them: this one the rank-th share of each reply's."""
    st, c, backs, cmds = w.node[s], w.c[0], w.reply_t, w.reply_commands
    tick, per_command, pool, at = c.tick_s, w.const[c.p_repl], w.pools[c.p_repl], w.cursor[c.p_repl]
    batch_t, batch_s = st.batch_t, st.batch_s
    for j in range(m):
        n = cmds[j]
        if n == 0:
            continue
        tick_t = (math.floor(backs[j] / tick) + 1) * tick
        if tick_t != batch_t:
            st.batch_t, st.batch_s = batch_t, batch_s
            flush_batch(w, s)
            batch_t, batch_s = tick_t, 0.0
        if per_command == per_command:  # deterministic
            batch_s += n * per_command
        else:
            for x in range(at + rank * n, at + (rank + 1) * n):
                batch_s += pool[x]
            at += replicas * n
    st.batch_t, st.batch_s = batch_t, batch_s
