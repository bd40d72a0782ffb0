"""Redis memory of a run's sessions and carts, by Little's law."""
from __future__ import annotations

from sim.model.schema import Scenario


def memory_mb(scenario: Scenario, logins_per_s: float) -> float:
    """Redis memory by Little's law: live sessions = new sessions/s x (visit + TTL), capped."""
    sess, redis = scenario.workload.sessions, scenario.topology.redis
    if redis is None:
        return float("nan")
    sessions = min(sess.max_sessions, logins_per_s * (sess.visit_duration_s + sess.session_ttl_s))
    carts = logins_per_s * sess.cart_fraction * (sess.visit_duration_s + sess.cart_ttl_s)
    return (sessions * redis.bytes_per_session + carts * redis.bytes_per_cart) / 2 ** 20
