"""Prometheus alert rules: what a human is paged by, when no mechanism acts on its own."""
from __future__ import annotations

from sim.schema_failures import Alerts


def _targets(nodes, target: str):
    return {"redis_any": nodes.redis, "pg_any": nodes.postgres, "lb_any": nodes.lbs,
            "app_any": [a.workers for a in nodes.apps]}[target]


def alerts(env, control, nodes, cfg: Alerts, rng):
    """Each evaluation checks `up` of the rule's targets; a rule whose condition has been true
    at every evaluation for for_s fires (Prometheus' pending -> firing)."""
    yield env.timeout(rng.uniform(0, cfg.evaluation_interval_s))
    pending: dict[str, float] = {}
    while True:
        for name, rule in cfg.rules.items():
            down = [s.name for s in _targets(nodes, rule.target) if s.state not in ("up", "off")]
            if not down:
                pending.pop(name, None)
                continue
            since = pending.setdefault(name, env.now)
            # evaluations fall on a grid of sums of floats: compare with a nanosecond's slack
            if since is not None and env.now - since >= rule.for_s - 1e-9:
                control.log("monitoring", f"alert {name} firing ({', '.join(down)})", "alerted")
                pending[name] = None  # fired: no repeat until it resolves
        yield env.timeout(cfg.evaluation_interval_s)
