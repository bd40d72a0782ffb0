"""Prometheus alert rules: what a human is paged by, when no mechanism acts on its own."""
from __future__ import annotations

from sim.engines.mechanisms import gauges
from sim.model.schema_failures import Alerts


def _targets(nodes, target: str):
    return {"redis_any": nodes.redis, "pg_any": nodes.postgres, "lb_any": nodes.lbs,
            "app_any": [a.workers for a in nodes.apps]}[target]


def _firing(rule, env, control, nodes, memory, pg_log) -> list[str]:
    """The targets for which the rule's condition holds now (sim.engines.mechanisms.gauges)."""
    if rule.metric == "up":
        return [s.name for s in _targets(nodes, rule.target) if s.state not in ("up", "off")]
    if rule.metric == "redis_memory_ratio":
        return [s.name for s in _targets(nodes, rule.target) if s.up and memory(env.now) > rule.above]
    return gauges.pg_lag_above(control, pg_log, nodes, env.now, rule.above)


def alerts(env, control, nodes, cfg: Alerts, rng, scenario=None, pg_log=None):
    """Each evaluation checks the rule's condition on its targets; a rule whose condition has
    been true at every evaluation for for_s fires (Prometheus' pending -> firing)."""
    yield env.timeout(rng.uniform(0, cfg.evaluation_interval_s))
    memory = gauges.redis_memory_ratio(scenario) if scenario is not None and nodes.redis else (lambda t: 0.0)
    pending: dict[str, float] = {}
    while True:
        for name, rule in cfg.rules.items():
            down = _firing(rule, env, control, nodes, memory, pg_log)
            if not down:
                pending.pop(name, None)
                continue
            since = pending.setdefault(name, env.now)
            # evaluations fall on a grid of sums of floats: compare with a nanosecond's slack
            if since is not None and env.now - since >= rule.for_s - 1e-9:
                # a down target pages ("alerted": a failure detected); the document's other rules
                # are warnings, which detect no failure
                control.log("monitoring", f"alert {name} firing ({', '.join(down)})",
                            "alerted" if rule.metric == "up" else "warned")
                pending[name] = None  # fired: no repeat until it resolves
        yield env.timeout(cfg.evaluation_interval_s)
