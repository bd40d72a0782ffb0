"""HAProxy's active health checks: each app server is checked every `inter`; `fall` failed checks
in a row take it out of rotation, `rise` good ones put it back."""
from __future__ import annotations

from sim.model.schema_failures import HealthCheck


def health_checks(env, control, app, cfg: HealthCheck, rng):
    """A crashed server refuses the check at once; a hung one fails it when the check times out
    (timeout check, else inter). While a server is changing state the checks run every fastinter,
    and while it is down every downinter (HAProxy's rules)."""
    yield env.timeout(rng.uniform(0, cfg.inter_s))  # the checks' phase
    healthy, streak = app.running, 0
    while True:
        balancer = control.vip_holder
        if balancer is None or not balancer.up or not app.running:  # no checks, or nothing to check
            healthy = healthy and app.running
            streak = 0
            yield env.timeout(cfg.inter_s)
            continue
        state = app.workers.state
        if state == "hung":
            yield env.timeout(cfg.timeout_s)
        ok = state == "up" and app.workers.state == "up"
        streak = streak + 1 if ok != healthy else 0
        if healthy and streak >= cfg.fall:
            healthy, streak = False, 0
            if app in control.in_rotation:
                control.in_rotation.remove(app)
            control.marked_down[app.name] = env.now
            control.log("haproxy", f"{app.name} marked down by health checks", "detected")
            control.log("haproxy", f"{app.name} removed from rotation", "action")
        elif not healthy and streak >= cfg.rise:
            healthy, streak = True, 0
            if app not in control.in_rotation:
                control.in_rotation.append(app)
            control.marked_down.pop(app.name, None)
            control.log("haproxy", f"{app.name} in rotation")
        if streak:
            interval = cfg.fastinter_s
        else:
            interval = cfg.inter_s if healthy else cfg.downinter_s
        yield env.timeout(max(0.0, interval - (cfg.timeout_s if state == "hung" else 0.0)))
