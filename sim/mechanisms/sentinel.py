"""Redis Sentinel's failover, step by step as Redis implements it (src/sentinel.c).

1. Each Sentinel PINGs the master every second. With no valid reply for down-after-milliseconds
   it flags the master subjectively down (+sdown); its timer runs ten times a second.
2. A Sentinel in +sdown asks the others every second (SENTINEL is-master-down-by-addr); when
   `quorum` of them agree, the master is objectively down (+odown).
3. Each Sentinel in +odown waits a random delay below SENTINEL_MAX_DESYNC (1 s) and asks for
   votes; the first to ask wins the epoch (it needs a majority, and at least quorum, of votes).
4. The leader picks the replica that is up and linked (priority, then replication offset), sends
   SLAVEOF NO ONE, and sees the promotion in INFO, which it polls every second in a failover.
5. It reconfigures the other replicas, parallel-syncs at a time; each resyncs with the new master.
   When all are done, or failover-timeout has passed, it announces +switch-master: only then do
   the Sentinels answer clients with the new address.
"""
from __future__ import annotations

import numpy as np

from sim.replication import WriteLog
from sim.schema_failures import Replication, Sentinel

TIMER_S = 0.1  # the Sentinel timer's period (hz 10)


def _down_timeline(t_fail: float, phases: np.ndarray, cfg: Sentinel, rng) -> tuple:
    """(+sdown time per Sentinel, +odown time per Sentinel) for a master that stopped at t_fail."""
    period = cfg.ping_period_s
    last_reply = phases + np.floor((t_fail - phases) / period) * period
    sdown = last_reply + cfg.down_after_ms / 1000 + rng.uniform(0, TIMER_S, len(phases))
    odown = np.full(len(phases), np.inf)
    for i, start in enumerate(sdown):
        for k in range(int(cfg.down_after_ms / 1000) + 10):  # asks, one a second
            ask = start + k
            if 1 + np.sum(np.delete(sdown, i) <= ask) >= cfg.quorum:
                odown[i] = ask
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
            yield env.timeout(TIMER_S)
        t_fail = master.changed_at
        sdown, odown = _down_timeline(t_fail, phases, cfg, rng)
        start = odown + rng.uniform(0, cfg.max_desync_s, sentinels)  # the desync delay
        steps = [(sdown.min(), "+sdown", None), (odown.min(), "+odown (quorum agrees)", "detected"),
                 (max(env.now, start.min()) + rng.uniform(0, TIMER_S), "+elected-leader", None)]
        if sentinels < majority or not np.isfinite(odown.min()):
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
        if aborted or not steps or not steps[-1][1].startswith("+elected"):
            yield env.timeout(cfg.failover_timeout_ms / 1000 * 2 if not aborted else TIMER_S)
            continue
        yield from _failover(env, control, nodes, master, t_fail, cfg, repl, log, rng)


def _failover(env, control, nodes, old, t_fail, cfg: Sentinel, repl: Replication, log: WriteLog, rng):
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
    yield env.timeout(rng.uniform(0, cfg.info_period_s))
    control.log("sentinel", f"+promoted-slave {new.name}")
    others = [r for r in nodes.redis if r is not new and r is not old and r.up]
    deadline = began + cfg.failover_timeout_ms / 1000
    for i in range(0, len(others), cfg.parallel_syncs):
        if env.now >= deadline:
            break
        yield env.timeout(cfg.replica_sync_s + rng.uniform(0, cfg.info_period_s))
        for replica in others[i:i + cfg.parallel_syncs]:
            control.linked.add(replica)
            control.log("sentinel", f"+slave-reconf-done {replica.name}")
    control.log("sentinel", f"+switch-master {old.name} -> {new.name}", "action")
    env.process(_rejoin(env, control, old, cfg))
    yield env.timeout(cfg.client_discovery_s)
    control.redis_master = new
    control.log("app", f"clients switched to {new.name}")


def _rejoin(env, control, old, cfg: Sentinel):
    """A failed master that comes back is turned into a replica of the new one (+convert-to-slave)."""
    while not old.up:
        yield env.timeout(TIMER_S)
    yield env.timeout(cfg.ping_period_s)
    control.log("sentinel", f"+convert-to-slave {old.name}")
    yield env.timeout(cfg.replica_sync_s)
    control.linked.add(old)
