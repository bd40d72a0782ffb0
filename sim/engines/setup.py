"""What both engines share: a replication's start (the SimPy environment, the nodes, the control
plane, the random streams, the recorder, the arrivals) and the assembly of its raw figures at
its end. Neither engine reaches into the other: the reference engine (sim.engines.reference) and the fast
one (sim.engines.fast.engine) each import this module."""
from __future__ import annotations

import simpy

from sim.model import topology
from sim.engines.control import ControlPlane
from sim.engines.metrics import Recorded, Recorder, quantiles_ms
from sim.engines.results import Bins, Event, LostWrite, NodeFigures, NodeSeries, Replication, Series, Totals
from sim.model.schema import Scenario
from sim.engines.streams import Streams
from sim.model.workload import ArrivalStream

MONTH_FROM_S = 86_400  # a run this long is billed by its average fleet: a month of such days


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


def node_figures(station, role: str, d: dict, hist, window_s: float) -> NodeFigures:
    """A node's figures over the window from its books there (d: Station.snapshot's keys)."""
    served = d["departures"]
    return NodeFigures(
        kind=station.kind, role=role, capacity=station.capacity,
        utilisation=d["busy_area"] / (station.capacity * window_s),
        throughput_rps=served / window_s,
        queue_mean=d["queue_area"] / window_s,
        in_system_mean=(d["busy_area"] + d["queue_area"]) / window_s,
        sojourn_mean_s=d["sojourn_s"] / served if served else 0.0,
        latency_ms=quantiles_ms(hist),
        rejected=d["rejected"], abandoned=d["abandoned"],
        waited_fraction=d["waited"] / d["arrivals"] if d["arrivals"] else 0.0,
        latency_hist=hist)


def role_of(station, control: ControlPlane) -> str:
    if station is control.redis_master or station is control.pg_primary:
        return "master" if station.kind == "redis" else "primary"
    if station.kind in ("redis", "postgres"):
        return "replica"
    if station.kind == "load_balancer":
        return "active" if station is control.vip_holder else "backup"
    return station.kind


def app_servers_billed(series: list[float], warmup_s: float, duration_s: float) -> float:
    """The app servers a month would pay for (one sample a second): a run of a day or more, its
    average over the measured window (a month of such days); a shorter run, those running when
    the window starts: a 25-minute sale's scale-out is not a month's fleet."""
    if duration_s < MONTH_FROM_S:
        return series[min(int(warmup_s), len(series) - 1)]
    window = series[int(warmup_s):int(duration_s)] or series[-1:]
    return sum(window) / len(window)


def result(scenario: Scenario, rec: Recorded, control: ControlPlane, nodes, node_figs: dict,
           series: dict, lb_in_system: int, bulk_requests: int | None = None) -> Replication:
    """One replication's raw figures, whichever engine ran it; `series`: the per-second
    {"nodes": {name: {"utilisation", "queue"}}, "app_servers"} the engine sampled."""
    sim = scenario.simulation
    return Replication(
        totals=Totals(**rec.totals()), window_s=sim.duration_s - sim.warmup_s,
        completed_in_window=rec.latency.count, failed_in_window=sum(rec.fail_reasons.values()),
        fail_reasons=dict(rec.fail_reasons), session_writes=rec.session_writes,
        fallbacks=rec.fallbacks, events=tuple(Event(*e) for e in control.events),
        lost_writes=tuple(LostWrite(w["t"], w["store"], w["count"], w["span_s"], w["cause"])
                          for w in control.lost_writes),
        bins=Bins(rec.bin_s, rec.arrived, rec.done, rec.failed, rec.slow),
        incident_t_s=rec.incident_t_s, incident_latency_s=rec.incident_latency_s,
        baseline_hist=rec.baseline, latency_hist=rec.latency, latency_hist_by_op=rec.by_op,
        nodes=node_figs, lb_in_system=lb_in_system,
        series=Series(**rec.series(), app_servers=series["app_servers"],
                      nodes={n: NodeSeries(**v) for n, v in series["nodes"].items()}),
        nodes_by_price_kind=nodes.price_kinds(app_servers_billed(
            series["app_servers"], sim.warmup_s, sim.duration_s)),
        bulk_requests=bulk_requests, request_log=rec.request_log)
