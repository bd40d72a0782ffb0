"""The budget guard: before a run, what it will cost (simulated requests, memory, wall time),
from the scenario alone; a run above the limits is refused with one line saying what to change,
unless the user says --yes.

The figures are estimates, on the safe side, from the benchmark (BENCHMARKS.md, the engines): the
fast engine simulates about 2.5 M requests per wall second on one core (1 M assumed here), the
reference engine about 6,600 (5,000 assumed); the control plane (health checks, Sentinel PINGs,
VRRP adverts, alerts) costs about 20 us of SimPy per event; a worker process holds about 300 MB
of code and pools before its arrays, which are sized from the scenario as sim/engines/fast/build.py and
sim/engines/fast/engine.py size them.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from sim.model.errors import UserError
from sim.model.schema import Scenario
from sim.model.workload import rate_curve, rate_at

LIMITS = {"wall_s": 30 * 60, "memory_fraction": 0.8}  # of this machine's memory, all workers
SPEED_RPS = {"fast": 1.0e6, "reference": 5.0e3}
CONTROL_EVENT_S = 20e-6
BASE_MB = 300.0
MB = 2 ** 20


class BudgetError(UserError):
    """The run would take longer or more memory than the limits."""


@dataclass
class Estimate:
    requests: float        # simulated requests, all runs and replications
    runs: int              # simulations of the scenario (a failure matrix: one per failure + 1)
    control_events: float  # control-plane events, all runs and replications
    memory_mb: float       # all workers together, at the peak
    worker_mb: float       # one worker
    workers: int
    wall_s: float

    def text(self) -> str:
        return (f"{self.requests:.3g} simulated requests in {self.runs} run(s), about "
                f"{duration(self.wall_s)} and {self.memory_mb / 1024:.1f} GB "
                f"({self.workers} worker(s) of {self.worker_mb / 1024:.1f} GB)")


def duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "forever"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.3g} days"


def machine_memory_mb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / MB
    except (ValueError, OSError, AttributeError):
        return 8192.0


def _requests_per_replication(scenario: Scenario) -> tuple[float, float]:
    """(requests in one replication, peak rate): the rate curve integrated over the run."""
    curve = rate_curve(scenario.workload.arrivals)
    duration_s = scenario.simulation.duration_s
    times = np.union1d(np.linspace(0.0, duration_s, 2049), curve[0][curve[0] <= duration_s])
    rates = rate_at(curve, times)
    peak = float(max(np.max(rates), np.max(curve[1])))
    return float(np.sum((rates[1:] + rates[:-1]) / 2 * np.diff(times))), peak


def _control_events_per_s(scenario: Scenario) -> float:
    """Events per simulated second of the control plane's periodic mechanisms."""
    t, m = scenario.topology, scenario.mechanisms
    apps = t.app_servers.max_count if m.autoscaler.enabled else t.app_servers.count
    hc = m.health_check
    rate = apps * (1 / hc.inter_s + 1 / hc.fastinter_s + 1 / hc.downinter_s) / 3 * 2
    rate += t.load_balancers.count * (1 / m.vrrp.advert_int_s + 1 / m.vrrp.track_interval_s)
    if t.redis is not None and t.redis.sentinels:
        nodes = 1 + t.redis.replicas
        rate += t.redis.sentinels * (nodes + t.redis.sentinels) * (
            1 / m.sentinel.ping_period_s + 1 / m.sentinel.info_period_s)
    if m.autoscaler.enabled:
        rate += 1 / m.autoscaler.period_s
    rate += (len(m.alerts.rules) + 1) / m.alerts.evaluation_interval_s
    if t.postgres is not None:
        pg = m.pg_failover
        rate += 1 / pg.health_check_period_s + 1 / pg.loop_wait_s
    rate += 1 / m.replication.min_replicas_max_lag_s + 2  # timers, sampling of the series
    rate += 1 / scenario.incidents.bin_s
    return rate


def _worker_mb(scenario: Scenario, peak_rps: float) -> float:
    """One worker's memory: code and pools, then the arrays sized from the scenario."""
    t, sim = scenario.topology, scenario.simulation
    apps = max(t.app_servers.max_count, t.app_servers.count)
    db = t.db_fleet or t.postgres
    db_nodes = (t.db_fleet.servers if t.db_fleet else 1 + t.postgres.replicas) if db else 0
    redis_nodes = 1 + t.redis.replicas if t.redis else 0
    stations = t.load_balancers.count + 2 * apps + redis_nodes + 2 * db_nodes + 4
    widest = max([t.app_servers.cores, db.connections if db else 1, 1])
    seconds = sim.duration_s + 1
    pools = (10 + len(scenario.workload.operations)) * (1 << 18) * 8
    arrays = (
        2 * stations * widest * 8                          # free slots of each FIFO station, twice
        + 2 * stations * seconds * 8                       # busy and queue per second
        + 4 * (sim.duration_s / scenario.incidents.bin_s) * 8  # bins
        + peak_rps * 330 * 1.1 * 16                        # arrivals loaded ahead
        + 2 * peak_rps * 60 * 1.5 * 8 * 2                  # acknowledgement rings
        + (2 * peak_rps * min(600, sim.duration_s) * 1.25 * 8 * 2 if scenario.failures else 0)
        + apps * t.app_servers.workers * 8 * 2
        + pools)
    if sim.engine == "reference":  # a SimPy process and its events per request in flight
        arrays += peak_rps * 2 * 2000 + stations * seconds * 64
    return BASE_MB + arrays / MB


def estimate(scenario: Scenario) -> Estimate:
    sim = scenario.simulation
    per_replication, peak_rps = _requests_per_replication(scenario)
    from sim.study.runner import until_decided
    runs = 1 + (len(scenario.failures) if scenario.incidents.matrix and scenario.failures else 0)
    # sequential replications: the most they may add
    replications = runs * (sim.max_replications if until_decided(scenario) else sim.replications)
    requests = per_replication * replications
    control = _control_events_per_s(scenario) * sim.duration_s * replications
    workers = max(1, min(sim.replications, os.cpu_count() or 1))
    worker_mb = _worker_mb(scenario, peak_rps)
    cpu_s = requests / SPEED_RPS[sim.engine] + control * CONTROL_EVENT_S
    wall_s = cpu_s / workers + (5.0 if workers > 1 else 0.0)
    return Estimate(requests, runs, control, worker_mb * workers, worker_mb, workers, wall_s)


def check(scenario: Scenario, yes: bool = False, source: str = "") -> Estimate:
    """The estimate; BudgetError when it is over the limits and not `yes`."""
    est = estimate(scenario)
    limit_mb = LIMITS["memory_fraction"] * machine_memory_mb()
    over = []
    if not est.wall_s <= LIMITS["wall_s"]:
        over.append(f"{duration(est.wall_s)} (the limit is {duration(LIMITS['wall_s'])})")
    if not est.memory_mb <= limit_mb:
        over.append(f"{est.memory_mb / 1024:.1f} GB of memory (the limit is {limit_mb / 1024:.1f} GB, "
                    f"{LIMITS['memory_fraction']:.0%} of this machine)")
    if over and not yes:
        what = ("lower simulation.duration_s (--duration), simulation.replications "
                "(--replications), simulation.max_replications or the arrival rate")
        if est.memory_mb > limit_mb:
            what += ", or the sizes (app servers, cores, connections)"
        raise BudgetError(f"{source + ': ' if source else ''}this run would take "
                          f"{' and '.join(over)}: {est.text()}; {what}, or pass --yes to run it anyway")
    return est
