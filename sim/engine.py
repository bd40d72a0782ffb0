"""One replication of a scenario on the reference engine: a SimPy process per request."""
from __future__ import annotations

import simpy

from sim import mechanisms, topology
from sim.control import ControlPlane
from sim.failures import inject
from sim.metrics import Recorder, quantiles_ms
from sim.replication import replica_loop
from sim.request_path import RequestPath
from sim.schema import Scenario
from sim.streams import Sampler, Streams
from sim.workload import OperationChooser, arrival_times, rate_curve


def _arrivals(env, scenario: Scenario, path: RequestPath, streams: Streams):
    curve = rate_curve(scenario.workload.arrivals)
    rng = streams.rng("arrivals")
    chooser = OperationChooser(scenario.workload, streams.rng("mix"))
    names = chooser.names
    t, end = 0.0, scenario.simulation.duration_s
    while t < end:
        chunk_end = min(t + 1.0, end)
        times = arrival_times(curve, rng, t, chunk_end).tolist()
        ops = chooser.draw(len(times)).tolist()
        for at, op in zip(times, ops):
            yield env.timeout(at - env.now)
            env.process(path.handle(names[op]))
        yield env.timeout(chunk_end - env.now)
        t = chunk_end


def _warmup(env, stations, warm: dict, warmup_s: float):
    """At the warm-up's end: a snapshot of every node, subtracted from its final figures."""
    yield env.timeout(warmup_s)
    warm.update({s.name: (s.snapshot(), s.latency.copy()) for s in stations})


def _sampler(env, stations, rec: Recorder, series: dict, progress):
    """Each second: utilisation and queue per node."""
    last = {s.name: s.snapshot() for s in stations}
    next_window = rec.step_s
    while True:
        yield env.timeout(1.0)
        for s in stations:
            snap = s.snapshot()
            prev = last[s.name]
            series[s.name]["utilisation"].append((snap["busy_area"] - prev["busy_area"]) / s.capacity)
            series[s.name]["queue"].append(snap["queue_area"] - prev["queue_area"])
            last[s.name] = snap
        if env.now >= next_window:
            rec.close_window()
            next_window += rec.step_s
        if progress:
            progress(env.now)


def _node_summary(station, role: str, start: tuple | None, window_s: float) -> dict:
    end = station.snapshot()
    base, hist0 = start if start else ({k: 0 for k in end}, None)
    d = {k: end[k] - base[k] for k in end}
    hist = station.latency - hist0 if hist0 is not None else station.latency.copy()
    served = d["departures"]
    return {
        "kind": station.kind, "role": role, "capacity": station.capacity,
        "utilisation": d["busy_area"] / (station.capacity * window_s),
        "throughput_rps": served / window_s,
        "queue_mean": d["queue_area"] / window_s,
        "in_system_mean": (d["busy_area"] + d["queue_area"]) / window_s,  # L of Little's law
        "sojourn_mean_s": d["sojourn_s"] / served if served else 0.0,    # W
        "latency_ms": quantiles_ms(hist),
        "rejected": d["rejected"], "abandoned": d["abandoned"],
        "waited_fraction": d["waited"] / d["arrivals"] if d["arrivals"] else 0.0,
        "latency_hist": hist,
    }


def _role(station, control: ControlPlane) -> str:
    if station is control.redis_master or station is control.pg_primary:
        return "master" if station.kind == "redis" else "primary"
    if station.kind in ("redis", "postgres"):
        return "replica"
    if station.kind == "load_balancer":
        return "active" if station is control.vip_holder else "backup"
    return station.kind


def run_replication(scenario: Scenario, replication: int, progress=None) -> dict:
    """Runs one replication; returns its raw figures (picklable) for the runner to aggregate."""
    sim = scenario.simulation
    env = simpy.Environment()
    streams = Streams(sim.seed, replication)
    nodes = topology.build(env, scenario)
    control = ControlPlane(env, scenario, nodes)
    step_s = max(1.0, round(sim.duration_s / 200))
    first_failure = min((f.at_s for f in scenario.failures), default=None)
    rec = Recorder(sim.duration_s, sim.warmup_s, list(scenario.workload.operations), step_s,
                   scenario.incidents.bin_s, scenario.objectives.p99_latency_ms / 1000, first_failure)
    path = RequestPath(env, scenario, control, streams, rec)
    env.process(_arrivals(env, scenario, path, streams))
    if scenario.topology.redis:
        command = Sampler(scenario.topology.redis.command_service, streams.rng("service/replication"))
        for replica in nodes.redis:
            env.process(replica_loop(env, replica, control, path.redis_log,
                                     scenario.topology.redis.replication_tick_s, command))
    mechanisms.start(env, scenario, nodes, control, path, streams)
    for failure in scenario.failures:
        env.process(inject(env, failure, scenario, control, nodes, path.redis_log))
    stations = nodes.stations()
    series = {s.name: {"utilisation": [], "queue": []} for s in stations}
    warm: dict = {}
    env.process(_warmup(env, stations, warm, sim.warmup_s))
    env.process(_sampler(env, stations, rec, series, progress))
    env.run(until=sim.duration_s)
    window_s = sim.duration_s - sim.warmup_s
    node_figures = {s.name: _node_summary(s, _role(s, control), warm.get(s.name), window_s)
                    for s in stations}
    return {"totals": rec.totals(), "window_s": window_s,
            "completed_in_window": rec.latency.count,
            "failed_in_window": sum(rec.fail_reasons.values()),
            "fail_reasons": dict(rec.fail_reasons), "session_writes": rec.session_writes,
            "fallbacks": rec.fallbacks, "events": control.events, "lost_writes": control.lost_writes,
            "bins": rec.bins(), "incident": (rec.incident_t, rec.incident_latency),
            "baseline_hist": rec.baseline,
            "latency_hist": rec.latency, "by_op": rec.by_op, "nodes": node_figures,
            "lb_in_system": sum(lb.in_system for lb in nodes.lbs),
            "series": rec.series() | {"nodes": series},
            "price_kinds": nodes.price_kinds()}

