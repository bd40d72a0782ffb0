"""PostgreSQL primary failover: detection by a periodic health check or a Patroni-like leader
lease, then promotion of a streaming replica. Until then the database is read-only."""
from __future__ import annotations

from sim.engines.replication import WriteLog
from sim.model.schema_failures import PgFailover


def _detection_delay(t_fail: float, cfg: PgFailover, rng) -> float:
    """Seconds from the failure to the moment it is declared.
    health_check: the next check after the failure (checks every period, random phase).
    patroni: the leader key, last renewed at most loop_wait before the failure, expires ttl after
    that renewal; a replica notices on its next loop (every loop_wait)."""
    if cfg.mode == "health_check":
        return rng.uniform(0, cfg.health_check_period_s)
    expires = t_fail - rng.uniform(0, cfg.loop_wait_s) + cfg.ttl_s
    return max(0.0, expires - t_fail) + rng.uniform(0, cfg.loop_wait_s)


def pg_failover(env, control, nodes, cfg: PgFailover, log: WriteLog, rng):
    while True:
        primary = control.pg_primary
        while primary.up:
            yield primary.state_change()
        t_fail = primary.changed_at
        yield env.timeout(max(0.0, t_fail + _detection_delay(t_fail, cfg, rng) - env.now))
        if primary.up:
            continue
        control.log("postgres", f"{primary.name} declared down: writes refused (read-only)", "detected")
        replicas = [r for r in nodes.postgres if r is not primary and r.up]
        if not replicas:
            control.log("postgres", "no replica to promote")
            while not primary.up:
                yield primary.state_change()
            continue
        yield env.timeout(cfg.promote_s)
        if not cfg.synchronous:  # commits not yet streamed to the replica are gone
            lost, span = log.between(t_fail - cfg.lag_ms / 1000, t_fail)
            control.lose("postgres", lost, span, f"promotion of {replicas[0].name}")
        control.pg_primary = replicas[0]
        control.log("postgres", f"{replicas[0].name} promoted: writes accepted", "action")
