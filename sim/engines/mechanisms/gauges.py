"""What Prometheus' exporters would report, for the alert rules and the autoscaler's memory rule.

- Redis memory (redis_exporter's redis_memory_used_bytes / redis_memory_max_bytes): the sessions
  and carts alive, each kept for the visit plus its TTL (capped at max_sessions), counted from
  the login rate over that span (the store is taken as full at the start: the system has been
  running before the simulation), over topology.redis.maxmemory_mb. A down node reports nothing.
- PostgreSQL replay lag (postgres_exporter's pg_replication_lag_seconds = now - the last replayed
  transaction's time, on a replica): above x seconds when no commit was acknowledged in the last
  x seconds, on replicas that are up (linked replicas replay within milliseconds here). It grows
  while the primary is down or hung, as it does in production. With the primary up it is taken
  as milliseconds without asking the request path: on the fast engine that question ends a calm
  stretch at every evaluation (the peak hour ran 58% of its requests in calm stretches instead
  of 97%). Not modelled so: the exporter's lag growing on a healthy but idle primary (no write
  at all for x seconds).
- App server memory: memory_base_mb + memory_per_request_mb x the requests it holds, over
  memory_mb (assumptions in mechanisms.autoscaler).
"""
from __future__ import annotations

import numpy as np

from sim.model.workload import rate_at, rate_curve


def redis_memory_ratio(scenario):
    """A function of the time: Redis memory used / maxmemory."""
    w, redis = scenario.workload, scenario.topology.redis
    curve, login_share = rate_curve(w.arrivals), w.mix.get("login", 0.0)
    s = w.sessions

    def logins(t: float, span_s: float) -> float:
        grid = np.linspace(t - span_s, t, 201)
        return float(np.trapezoid(rate_at(curve, np.maximum(grid, 0.0)), grid)) * login_share

    def ratio(t: float) -> float:
        sessions = min(s.max_sessions, logins(t, s.visit_duration_s + s.session_ttl_s))
        carts = logins(t, s.visit_duration_s + s.cart_ttl_s) * s.cart_fraction
        used = sessions * redis.bytes_per_session + carts * redis.bytes_per_cart
        return used / (redis.maxmemory_mb * 2 ** 20)
    return ratio


def pg_lag_above(control, log, nodes, now: float, above_s: float) -> list[str]:
    """The replicas (up, not the primary) whose replay lag is above above_s seconds."""
    primary = control.pg_primary
    if log is None or (primary is not None and primary.up) or log.between(now - above_s, now)[0]:
        return []
    return [r.name for r in nodes.postgres if r.up and r is not control.pg_primary]


def app_memory_ratio(cfg, in_system: int) -> float:
    return (cfg.memory_base_mb + cfg.memory_per_request_mb * in_system) / cfg.memory_mb
