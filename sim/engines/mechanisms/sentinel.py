"""Redis Sentinel's failover, step by step as Redis implements it (src/sentinel.c, Redis 7).

1. Each Sentinel PINGs the master every min(1 s, down-after) and flags it subjectively down
   (+sdown) when its oldest *unanswered* PING (act_ping_time) is older than down-after. The clock
   starts when a PING goes unanswered, not at the last reply:
   - a crashed process: the kernel closes its sockets, the Sentinel sees its link drop,
     reconnects at its next timer tick and sends a PING on the new (non-blocking) connection at
     once; that PING starts the clock: +sdown at failure + down-after + up to two ticks.
   - a hung or partitioned master: the links stay open and the next periodic PING, due one
     period after the last reply, starts the clock: +sdown at failure + down-after + (0, period].
   The timer runs 10-19 times a second (hz is randomised to desynchronise the Sentinels).
2. A Sentinel in +sdown asks the others (SENTINEL is-master-down-by-addr) at once, then every
   second; a peer says yes if it is in +sdown itself. With `quorum` yeses it flags +odown.
3. The first Sentinel in +odown starts a failover (+try-failover) and asks for votes at once;
   the others vote for the first to ask, so it is +elected-leader a tick later. (The random
   SENTINEL_MAX_DESYNC delay only spaces out *retries* of a failed attempt.)
4. The leader selects a replica, sends SLAVEOF NO ONE (a tick each), and sees the promotion in
   the next INFO reply from it (sentinelSendPeriodicCommands). A Sentinel sends INFO to a
   replica every 10 s (info_calm_period_s, at a phase of its own), and every second
   (info_period_s) once the master is +odown (from that very tick, if the last INFO is a second
   old) or once the replica has reported its link to the master down. A crash drops that link
   at once, and the replica's INFO says so (master_link_down_since_seconds, in whole seconds of
   the wall clock: non-zero once a second boundary has passed); so after a crash the 10 s INFO
   that falls between the crash and +odown (with down-after 5 s, about half the time) starts
   the 1 s polling early, at a phase of its own, and the promotion shows 0-1 s after SLAVEOF
   instead of a second after +odown. A hung master keeps the link up: no such shortcut.
5. At the promotion the leader forces a hello to every instance; the other Sentinels adopt the
   new configuration on receipt and announce +switch-master: from then on they give clients the
   new address. The leader meanwhile reconfigures the other replicas, parallel-syncs at a time
   (+slave-reconf-done when INFO shows them synced), then announces +failover-end.
Checked against real Sentinels with `python simulate.py lab sentinel` (redis_backend/lab.py).
"""
from __future__ import annotations

import math

import numpy as np

from sim.engines.replication import WriteLog
from sim.model.schema_failures import Replication, Sentinel

TIMER_S = 0.1       # the Sentinel timer's longest period (hz 10-19)
ASK_PERIOD_S = 1.0  # SENTINEL_ASK_PERIOD: is-master-down-by-addr to each peer


def _tick(rng, n=None):
    """The wait for a Sentinel's next timer run."""
    return rng.uniform(0, TIMER_S, n)


def _down_timeline(t_fail: float, state: str, phases: np.ndarray, cfg: Sentinel, rng) -> tuple:
    """(+sdown time per Sentinel, +odown time per Sentinel) for a master that failed at t_fail."""
    n = len(phases)
    if state == "crashed":  # the reconnection's PING
        unanswered = t_fail + _tick(rng, n)
    else:  # hung or partitioned: the next periodic PING
        period = min(cfg.ping_period_s, cfg.down_after_ms / 1000)
        last_reply = phases + np.floor((t_fail - phases) / period) * period
        unanswered = last_reply + period + _tick(rng, n)
    sdown = unanswered + cfg.down_after_ms / 1000 + _tick(rng, n)
    odown = np.full(n, np.inf)
    for i, start in enumerate(sdown):
        for k in range(int(cfg.down_after_ms / 1000) + 10):  # asks, one a second
            ask = start + k * ASK_PERIOD_S
            if 1 + np.sum(np.delete(sdown, i) <= ask) >= cfg.quorum:
                odown[i] = ask + _tick(rng)  # the replies are counted at the next tick
                break
    return sdown, odown


def sentinel(env, control, nodes, cfg: Sentinel, repl: Replication, log: WriteLog, rng):
    sentinels = nodes.sentinels
    phases = rng.uniform(0, cfg.ping_period_s, sentinels)
    majority = max(cfg.quorum, sentinels // 2 + 1)
    announced = None  # the failure already flagged +sdown/+odown (a retried failover repeats neither)
    while True:
        master = control.redis_master
        while master.up:
            yield master.state_change()
        t_fail = master.changed_at
        sdown, odown = _down_timeline(t_fail, master.state, phases, cfg, rng)
        t_odown = odown.min()
        steps = [(sdown.min(), "+sdown", None), (t_odown, "+odown (quorum agrees)", "detected"),
                 (max(env.now, t_odown) + _tick(rng), "+elected-leader", None)]
        if sentinels < majority or not np.isfinite(t_odown):
            steps = steps[:1]
        if announced == (master.name, t_fail):
            steps = steps[2:]
        announced = (master.name, t_fail)
        aborted = False
        for at, text, mark in steps:
            yield env.timeout(max(0.0, at - env.now))
            if master.up:  # back before the failover began
                aborted = True
                break
            control.log("sentinel", text, mark)
        if aborted:
            yield env.timeout(TIMER_S)
            continue
        if not steps or not steps[-1][1].startswith("+elected"):
            # no failover now; a retry waits 2 x failover-timeout plus the desync delay
            yield env.timeout(2 * cfg.failover_timeout_ms / 1000 + rng.uniform(0, cfg.max_desync_s))
            continue
        yield from _failover(env, control, nodes, master, (t_fail, t_odown), cfg, repl, log, rng)


def _info_replies(t_fail: float, t_odown: float, crashed: bool, cfg: Sentinel, rng):
    """The times of one Sentinel's INFO replies from one replica after the failure (step 4).

    INFO goes out at the first tick at which the last reply is older than the period; loopback
    and LAN replies take well under a tick, so a reply is stamped when its INFO is sent."""
    fast_s, calm_s = cfg.info_period_s, cfg.info_calm_period_s
    t = t_fail - rng.uniform(0, calm_s)  # the last reply before the failure
    second = rng.uniform(0, 1.0)  # where the wall clock's seconds begin
    link_down = False
    while True:
        tick = _tick(rng)
        if link_down or t >= t_odown:
            t += fast_s + tick
        elif t + calm_s + tick > t_odown:  # the period shortens at +odown
            t = max(t_odown, t + fast_s + tick)
        else:
            t += calm_s + tick
        link_down = link_down or (crashed and math.floor(t - second) > math.floor(t_fail - second))
        yield t


def _next_info(replies, after: float) -> float:
    """The first reply of an _info_replies schedule after `after`."""
    while (t := next(replies)) <= after:
        pass
    return t


def _failover(env, control, nodes, old, times: tuple, cfg: Sentinel, repl: Replication,
              log: WriteLog, rng):
    t_fail, t_odown = times
    crashed = old.state == "crashed"
    candidates = sorted((r for r in control.linked if r.up), key=lambda r: r.name)
    if not candidates:
        control.log("sentinel", "-failover-abort-no-good-slave")
        yield env.timeout(2 * cfg.failover_timeout_ms / 1000)
        return
    new = candidates[0]
    lost, span = log.between(t_fail - repl.lag_ms / 1000, t_fail)
    control.lose("redis", lost, span, f"failover {old.name} -> {new.name}")
    control.linked.clear()
    began = env.now
    yield env.timeout(_tick(rng) + _tick(rng))  # select the replica, then SLAVEOF NO ONE
    control.log("sentinel", f"+selected-slave {new.name}")
    promoted = _next_info(_info_replies(t_fail, t_odown, crashed, cfg, rng), env.now)
    yield env.timeout(promoted - env.now)
    control.log("sentinel", f"+promoted-slave {new.name}")
    yield env.timeout(_tick(rng))  # the forced hello reaches the other Sentinels
    control.log("sentinel", f"+switch-master {old.name} -> {new.name}", "action")
    env.process(_reconfigure(env, control, nodes, old, new, began, times, crashed, cfg, rng))
    env.process(_rejoin(env, control, old, cfg))
    yield env.timeout(cfg.client_discovery_s)
    control.redis_master = new
    control.log("app", f"clients switched to {new.name}")


def _reconfigure(env, control, nodes, old, new, began, times, crashed, cfg: Sentinel, rng):
    """The leader points the other replicas at the new master, parallel-syncs at a time."""
    others = [r for r in nodes.redis if r is not new and r is not old and r.up]
    replies = {r.name: _info_replies(*times, crashed, cfg, rng) for r in others}
    deadline = began + cfg.failover_timeout_ms / 1000
    for i in range(0, len(others), cfg.parallel_syncs):
        if env.now >= deadline:
            break
        yield env.timeout(_tick(rng))  # SLAVEOF new master sent
        batch = others[i:i + cfg.parallel_syncs]
        done_at = max(_next_info(replies[r.name], env.now + cfg.replica_sync_s) for r in batch)
        yield env.timeout(done_at - env.now)
        for replica in batch:
            control.linked.add(replica)
            control.log("sentinel", f"+slave-reconf-done {replica.name}")
    yield env.timeout(_tick(rng))
    control.log("sentinel", "+failover-end")


def _rejoin(env, control, old, cfg: Sentinel):
    """A failed master that comes back is turned into a replica of the new one (+convert-to-slave)."""
    while not old.up:
        yield env.timeout(TIMER_S)
    yield env.timeout(cfg.ping_period_s)
    control.log("sentinel", f"+convert-to-slave {old.name}")
    yield env.timeout(cfg.replica_sync_s)
    control.linked.add(old)
