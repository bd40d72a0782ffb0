"""Failure injection: a component crashes, hangs, is partitioned or slows down, and maybe comes back."""
from __future__ import annotations

from sim.engines.replication import WriteLog
from sim.model.schema import Scenario
from sim.model.schema_failures import Failure

STATE = {"crash": "crashed", "hang": "hung", "partition": "hung", "slow": "up"}
# Redis persistence: the writes a restart loses are those not yet fsynced to the AOF
FSYNC_WINDOW_S = {"always": 0.0, "everysec": 1.0, "no": 30.0}  # "no": the kernel's ~30 s flush


def targets(component: str, control, nodes) -> list:
    """The stations a component names: a role as it stands now, or a node by name."""
    roles = {
        "lb_active": lambda: [control.vip_holder],
        "app_server": lambda: control.in_rotation[0].stations if control.in_rotation else [],
        "redis_master": lambda: [control.redis_master],
        "redis_all": lambda: list(nodes.redis),
        "pg_primary": lambda: [control.pg_primary],
        "all": nodes.stations,
    }
    if component in roles:
        return [s for s in roles[component]() if s is not None]
    apps = {a.name: a.stations for a in nodes.apps}
    if component in apps:
        return apps[component]
    return [s for s in nodes.stations() if s.name == component]


def inject(env, failure: Failure, scenario: Scenario, control, nodes, redis_log: WriteLog):
    yield env.timeout(failure.at_s)
    hit = [s for s in targets(failure.component, control, nodes) if s.state != "off"]
    factor = failure.slow_factor if failure.kind == "slow" else 1.0
    for station in hit:
        station.set_state(STATE[failure.kind], factor)
    what = f"x{factor:g} slower" if failure.kind == "slow" else failure.kind
    control.log("failure", f"{failure.name}: {', '.join(s.name for s in hit if '/' not in s.name)} {what}",
                "injected")
    if failure.repair_after_s is None:
        return
    yield env.timeout(failure.repair_after_s)
    for station in hit:
        if station.state == "off":  # the autoscaler terminated it meanwhile
            continue
        if failure.kind == "crash" and station is control.redis_master:
            window = FSYNC_WINDOW_S[scenario.mechanisms.replication.appendfsync]
            lost, span = redis_log.between(station.changed_at - window, station.changed_at)
            control.lose("redis", lost, span, f"{station.name} restarted from its AOF")
        station.set_state("up")
    control.log("failure", f"{failure.name}: repaired", "repaired")
