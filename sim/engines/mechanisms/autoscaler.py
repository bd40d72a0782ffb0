"""The document's autoscaler: alarms over the app tier's CPU, memory, request queue and response
time add or remove app servers, with a cooldown; unhealthy servers are replaced.

Every period it reads the last period's figures from a probe (the request path's books):
- cpu: busy cores / cores, averaged over the servers in rotation;
- queue: requests waiting for a worker, summed over the servers (the backend queue);
- latency: mean response time of the requests completed in the period;
- memory: used / total, averaged over the servers in rotation, from the requests each holds at
  the evaluation (sim.engines.mechanisms.gauges.app_memory_ratio).
An alarm fires once its condition has held at every evaluation for its duration (a CloudWatch
alarm over consecutive periods). A launched instance boots for boot_s, then HAProxy's health
checks put it in rotation (rise checks); a removed one drains its requests, then stops.
"""
from __future__ import annotations

import math

from sim.engines.mechanisms.gauges import app_memory_ratio
from sim.model.schema_failures import Autoscaler

EPS_S = 1e-9  # evaluations fall on sums of floats


class Alarm:
    def __init__(self, for_s: float):
        self.for_s, self.since = for_s, None

    def update(self, holds: bool, period_start: float, now: float) -> bool:
        """True once the condition has held continuously for for_s."""
        if not holds:
            self.since = None
            return False
        if self.since is None:
            self.since = period_start
        return now - self.since >= self.for_s - EPS_S


def _figures(before, after, apps, period_s: float, cores: int, cfg: Autoscaler) -> dict:
    cpu = [(after["cpu"][a.name] - before["cpu"][a.name]) / (cores * period_s) for a in apps]
    queue = sum(after["queue"][a.name] - before["queue"][a.name] for a in apps) / period_s
    done = after["completed"] - before["completed"]
    latency_s = (after["latency_s"] - before["latency_s"]) / done if done else math.nan
    memory = [app_memory_ratio(cfg, after["in_system"][a.name]) for a in apps]
    return {"cpu": sum(cpu) / len(cpu) if cpu else 0.0, "queue": queue, "latency_s": latency_s,
            "memory": sum(memory) / len(memory) if memory else 0.0}


def autoscaler(env, control, nodes, cfg: Autoscaler, app_cfg, probe):
    up = {"cpu": Alarm(cfg.cpu_up_for_s), "queue": Alarm(cfg.queue_up_for_s),
          "latency": Alarm(cfg.latency_up_for_s), "memory": Alarm(cfg.memory_up_for_s)}
    down = Alarm(cfg.down_for_s)
    last_action = -math.inf
    before = probe()
    while True:
        yield env.timeout(cfg.period_s)
        after, now = probe(), env.now
        fig = _figures(before, after, control.in_rotation, cfg.period_s, app_cfg.cores, cfg)
        before, start = after, now - cfg.period_s
        over = {"cpu": fig["cpu"] > cfg.cpu_up, "queue": fig["queue"] > cfg.queue_up,
                "latency": fig["latency_s"] * 1000 > cfg.latency_up_ms, "memory": fig["memory"] > cfg.memory_up}
        fired = [name for name, alarm in up.items() if alarm.update(over[name], start, now)]
        quiet = down.update(fig["cpu"] < cfg.cpu_down and fig["memory"] < cfg.memory_down
                            and fig["queue"] < cfg.queue_down, start, now)
        _replace_unhealthy(env, control, nodes, cfg)
        if now - last_action < cfg.cooldown_s - EPS_S:
            continue
        running = [a for a in nodes.apps if a.running]
        if fired and len(running) < app_cfg.max_count:
            for _ in range(min(cfg.step, app_cfg.max_count - len(running))):
                _launch(env, control, nodes, cfg, f"scale up ({', '.join(fired)} alarm)")
            last_action = now
        elif quiet and not fired and len(control.in_rotation) > app_cfg.min_count:
            for app in control.in_rotation[::-1][:min(cfg.step, len(control.in_rotation) - app_cfg.min_count)]:
                env.process(_drain(env, control, app, probe))
            last_action = now


def _launch(env, control, nodes, cfg: Autoscaler, why: str):
    free = [a for a in nodes.apps if not a.running]
    if not free:
        return
    app = min(free, key=lambda a: a.workers.changed_at)  # the slot free the longest
    app.set_state("crashed")  # booting: it refuses connections until the app listens
    control.log("autoscaler", f"{why}: launching {app.name}", "scaled")
    env.process(_boot(env, control, app, cfg.boot_s))


def _boot(env, control, app, boot_s: float):
    yield env.timeout(boot_s)
    if app.workers.state == "crashed":
        app.set_state("up")
        control.log("autoscaler", f"{app.name} booted")


def _drain(env, control, app, probe):
    """HAProxy drain: no new requests; those in the server finish, then the instance stops."""
    if app in control.in_rotation:
        control.in_rotation.remove(app)
    control.log("autoscaler", f"scale down: draining {app.name}", "scaled")
    while probe()["in_system"][app.name]:
        yield env.timeout(1.0)
    app.set_state("off")
    control.log("autoscaler", f"{app.name} terminated")


def _replace_unhealthy(env, control, nodes, cfg: Autoscaler):
    """An instance failing its health checks for replace_unhealthy_after_s is terminated and a
    new one launched in its place."""
    by_name = {a.name: a for a in nodes.apps}
    for name, since in list(control.marked_down.items()):
        app = by_name[name]
        if env.now - since >= cfg.replace_unhealthy_after_s - EPS_S and app.running:
            del control.marked_down[name]
            app.set_state("off")
            control.log("autoscaler", f"{name} terminated (unhealthy)")
            _launch(env, control, nodes, cfg, f"replace {name}")
