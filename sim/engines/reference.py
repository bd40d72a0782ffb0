"""The reference engine: one replication of a scenario, a SimPy process per request (the setup
and the raw figures it shares with the fast engine: sim.engines.setup)."""
from __future__ import annotations

from sim.engines import mechanisms
from sim.engines.failures import inject
from sim.engines.metrics import Recorder
from sim.engines.replication import replica_loop
from sim.engines.request_path import RequestPath
from sim.engines.results import NodeFigures, Replication
from sim.engines.setup import arrival_stream, node_figures, result, role_of, setup
from sim.model.schema import Scenario
from sim.engines.streams import Sampler
from sim.model.workload import ArrivalStream


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


def _node_summary(station, role: str, start: tuple | None, window_s: float) -> NodeFigures:
    end = station.snapshot()
    base, hist0 = start if start else ({k: 0 for k in end}, None)
    d = {k: end[k] - base[k] for k in end}
    hist = station.latency - hist0 if hist0 is not None else station.latency.copy()
    return node_figures(station, role, d, hist, window_s)


def probe(apps, rec: Recorder):
    """What the autoscaler reads: cumulative books of the app servers and of the responses."""
    def read() -> dict:
        snaps = {a.name: (a.cpu.snapshot(), a.workers.snapshot()) for a in apps}
        return {"cpu": {n: c["busy_area"] for n, (c, _) in snaps.items()},
                "queue": {n: w["queue_area"] for n, (_, w) in snaps.items()},
                "in_system": {a.name: a.workers.in_system for a in apps},
                "completed": rec.completed, "latency_s": rec.latency_s}
    return read


def run_replication(scenario: Scenario, replication: int, progress=None) -> Replication:
    """Runs one replication; returns its raw figures for the runner to aggregate."""
    sim = scenario.simulation
    env, streams, nodes, control, rec = setup(scenario, replication)
    path = RequestPath(env, scenario, control, streams, rec)
    env.process(_arrivals(env, path, arrival_stream(scenario, streams)))
    if scenario.topology.redis:
        command = Sampler(scenario.topology.redis.command_service, streams.rng("service/replication"))
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
    return result(scenario, rec.recorded(), control, nodes, figures, series,
                  sum(lb.in_system for lb in nodes.lbs))

