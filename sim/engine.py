"""One replication of a scenario on the reference engine: a SimPy process per request."""
from __future__ import annotations

import simpy

from sim import mechanisms, topology
from sim.control import ControlPlane
from sim.failures import inject
from sim.metrics import Recorder, quantiles_ms
from sim.replication import replica_loop
from sim.path import STREAM
from sim.request_path import RequestPath
from sim.schema import Scenario
from sim.streams import Sampler, Streams
from sim.workload import ArrivalStream


def _arrivals(env, path: RequestPath, stream: ArrivalStream):
    while not stream.done:
        times, ops, end = stream.next_chunk()
        for at, op in zip(times.tolist(), ops.tolist()):
            yield env.timeout(at - env.now)
            env.process(path.handle(stream.names[op]))
        yield env.timeout(end - env.now)


def _warmup(env, stations, warm: dict, warmup_s: float):
    """At the warm-up's end: a snapshot of every node, subtracted from its final figures."""
    yield env.timeout(warmup_s)
    warm.update({s.name: (s.snapshot(), s.latency.copy()) for s in stations})


def _sampler(env, stations, apps, rec: Recorder, series: dict, progress):
    """Each second: utilisation and queue per node, and the app servers running."""
    last = {s.name: s.snapshot() for s in stations}
    next_window = rec.step_s
    while True:
        series["app_servers"].append(sum(a.running for a in apps))
        yield env.timeout(1.0)
        for s in stations:
            snap = s.snapshot()
            prev = last[s.name]
            series["nodes"][s.name]["utilisation"].append((snap["busy_area"] - prev["busy_area"]) / s.capacity)
            series["nodes"][s.name]["queue"].append(snap["queue_area"] - prev["queue_area"])
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
    return node_figures(station, role, d, hist, window_s)


def node_figures(station, role: str, d: dict, hist, window_s: float) -> dict:
    """A node's figures over the window from its books there (d: Station.snapshot's keys)."""
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


def role_of(station, control: ControlPlane) -> str:
    if station is control.redis_master or station is control.pg_primary:
        return "master" if station.kind == "redis" else "primary"
    if station.kind in ("redis", "postgres"):
        return "replica"
    if station.kind == "load_balancer":
        return "active" if station is control.vip_holder else "backup"
    return station.kind


def probe(apps, rec: Recorder):
    """What the autoscaler reads: cumulative books of the app servers and of the responses."""
    def read() -> dict:
        snaps = {a.name: (a.cpu.snapshot(), a.workers.snapshot()) for a in apps}
        return {"cpu": {n: c["busy_area"] for n, (c, _) in snaps.items()},
                "queue": {n: w["queue_area"] for n, (_, w) in snaps.items()},
                "in_system": {a.name: a.workers.in_system for a in apps},
                "completed": rec.completed, "latency_s": rec.latency_s}
    return read


MONTH_FROM_S = 86_400  # a run this long is billed by its average fleet: a month of such days


def app_servers_billed(series: list[float], warmup_s: float, duration_s: float) -> float:
    """The app servers a month would pay for (one sample a second): a run of a day or more, its
    average over the measured window (a month of such days); a shorter run, those running when
    the window starts: a 25-minute sale's scale-out is not a month's fleet."""
    if duration_s < MONTH_FROM_S:
        return series[min(int(warmup_s), len(series) - 1)]
    window = series[int(warmup_s):int(duration_s)] or series[-1:]
    return sum(window) / len(window)


def arrival_stream(scenario: Scenario, streams: Streams) -> ArrivalStream:
    return ArrivalStream(scenario.workload, scenario.simulation.duration_s, streams.rng("arrivals"),
                         streams.rng("mix"))


def recorder(scenario: Scenario) -> Recorder:
    sim = scenario.simulation
    step_s = max(1.0, round(sim.duration_s / 200))  # latency percentiles over time: 200 steps
    first_failure = min((f.at_s for f in scenario.failures), default=None)
    return Recorder(sim.duration_s, sim.warmup_s, list(scenario.workload.operations), step_s,
                    scenario.incidents.bin_s, scenario.objectives.p99_latency_ms / 1000, first_failure,
                    sim.log_requests)


def setup(scenario: Scenario, replication: int):
    """What both engines start a replication with: (env, streams, nodes, control plane, recorder)."""
    env = simpy.Environment()
    nodes = topology.build(env, scenario)
    return (env, Streams(scenario.simulation.seed, replication), nodes,
            ControlPlane(env, scenario, nodes), recorder(scenario))


def run_replication(scenario: Scenario, replication: int, progress=None) -> dict:
    """Runs one replication; returns its raw figures (picklable) for the runner to aggregate."""
    sim = scenario.simulation
    env, streams, nodes, control, rec = setup(scenario, replication)
    path = RequestPath(env, scenario, control, streams, rec)
    env.process(_arrivals(env, path, arrival_stream(scenario, streams)))
    if scenario.topology.redis:
        command = Sampler(scenario.topology.redis.command_service, streams.rng(STREAM["repl"].name))
        for replica in nodes.redis:
            env.process(replica_loop(env, replica, control, path.redis_log,
                                     scenario.topology.redis.replication_tick_s, command))
    mechanisms.start(env, scenario, nodes, control, path, streams, probe(nodes.apps, rec))
    for failure in scenario.failures:
        env.process(inject(env, failure, scenario, control, nodes, path.redis_log))
    stations = nodes.stations()
    series = {"nodes": {s.name: {"utilisation": [], "queue": []} for s in stations}, "app_servers": []}
    warm: dict = {}
    env.process(_warmup(env, stations, warm, sim.warmup_s))
    env.process(_sampler(env, stations, nodes.apps, rec, series, progress))
    env.run(until=sim.duration_s)
    window_s = sim.duration_s - sim.warmup_s
    figures = {s.name: _node_summary(s, role_of(s, control), warm.get(s.name), window_s)
               for s in stations}
    return result(scenario, rec, control, nodes, figures, series,
                  sum(lb.in_system for lb in nodes.lbs))


def result(scenario: Scenario, rec: Recorder, control: ControlPlane, nodes, node_figs: dict,
           series: dict, lb_in_system: int) -> dict:
    """One replication's raw figures (picklable), whichever engine ran it."""
    sim = scenario.simulation
    window_s = sim.duration_s - sim.warmup_s
    return {"totals": rec.totals(), "window_s": window_s,
            "completed_in_window": rec.latency.count,
            "failed_in_window": sum(rec.fail_reasons.values()),
            "fail_reasons": dict(rec.fail_reasons), "session_writes": rec.session_writes,
            "fallbacks": rec.fallbacks, "events": control.events, "lost_writes": control.lost_writes,
            "request_log": rec.request_log,
            "bins": rec.bins(), "incident": (rec.incident_t, rec.incident_latency),
            "baseline_hist": rec.baseline,
            "latency_hist": rec.latency, "by_op": rec.by_op, "nodes": node_figs,
            "lb_in_system": lb_in_system,
            "series": rec.series() | series,
            "price_kinds": nodes.price_kinds(app_servers_billed(series["app_servers"], sim.warmup_s,
                                                                sim.duration_s))}

