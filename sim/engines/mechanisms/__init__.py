"""Control-plane mechanisms: processes that watch the nodes and change roles and routing."""
from __future__ import annotations

from sim.engines.mechanisms.alerts import alerts
from sim.engines.mechanisms.autoscaler import autoscaler
from sim.engines.mechanisms.health import health_checks
from sim.engines.mechanisms.pg_failover import pg_failover
from sim.engines.mechanisms.sentinel import sentinel
from sim.engines.mechanisms.vrrp import vrrp


def start(env, scenario, nodes, control, path, streams, probe):
    """Starts every mechanism the architecture has; each draws from its own stream. `probe()`
    reads the request path's books (see autoscaler)."""
    mech = scenario.mechanisms
    if len(nodes.lbs) > 1:
        env.process(vrrp(env, control, nodes.lbs, mech.vrrp, streams.rng("mechanism/vrrp")))
    for app in nodes.apps:
        env.process(health_checks(env, control, app, mech.health_check, streams.rng(f"mechanism/check/{app.name}")))
    if nodes.sentinels and len(nodes.redis) > 1:
        env.process(sentinel(env, control, nodes, mech.sentinel, mech.replication, path.redis_log,
                             streams.rng("mechanism/sentinel")))
    env.process(alerts(env, control, nodes, mech.alerts, streams.rng("mechanism/alerts"), scenario,
                       path.pg_log if nodes.postgres else None))
    if mech.autoscaler.enabled:
        env.process(autoscaler(env, control, nodes, mech.autoscaler, scenario.topology.app_servers, probe))
    if len(nodes.postgres) > 1:
        env.process(pg_failover(env, control, nodes, mech.pg_failover, path.pg_log,
                                streams.rng("mechanism/pg_failover")))
