"""What an engine hands the study: one replication's raw figures, typed (frozen dataclasses), so
that a renamed figure fails where it is read instead of going missing. Both engines build them
(sim.engines.setup.result); they pickle, for the process pool and the cluster's workers."""
from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import NamedTuple

import numpy as np

from sim.engines.histogram import LogHistogram


class Event(NamedTuple):
    """A control-plane event: mark "injected", "detected", "alerted", "action", "recovered" ...
    times an incident (sim.study.incident); None is an event of no incident figure."""
    t_s: float
    source: str
    text: str
    mark: str | None


@dataclass(frozen=True)
class LostWrite:
    """Acknowledged writes a failover or a restart lost."""
    t_s: float
    store: str     # "redis" or "postgres"
    count: int
    span_s: float  # from the first of them to the loss
    cause: str


@dataclass(frozen=True)
class Totals:
    """Requests over the whole run, warm-up included: arrived = completed + failed + in flight."""
    arrived: int
    completed: int
    failed: int
    in_flight: int


@dataclass(frozen=True)
class Bins:
    """Requests per bin of bin_s over the whole run (sim.engines.metrics.Recorder)."""
    bin_s: float
    arrived: np.ndarray
    done: np.ndarray
    failed: np.ndarray
    slow: np.ndarray  # completions slower than the p99 objective


@dataclass(frozen=True)
class NodeFigures:
    """A node over the measured window (sim.engines.setup.node_figures)."""
    kind: str
    role: str
    capacity: int
    utilisation: float      # busy servers / servers
    throughput_rps: float
    queue_mean: float       # requests waiting
    in_system_mean: float   # L of Little's law
    sojourn_mean_s: float   # W
    latency_ms: dict[str, float]  # sim.engines.metrics.quantiles_ms: p50, p95, p99, p999, mean
    rejected: int
    abandoned: int
    waited_fraction: float
    latency_hist: LogHistogram


@dataclass(frozen=True)
class NodeSeries:
    utilisation: list[float]  # per second
    queue: list[float]        # requests waiting, per second


@dataclass(frozen=True)
class Series:
    """Per-second series (a replication's, or the mean of a run's in its report); in a long
    report.json averaged in blocks of step_s (reporting.jsontext)."""
    arrivals_rps: list[float]
    completions_rps: list[float]
    failures_rps: list[float]
    in_flight: list[float]
    latency_step_s: float
    latency_ms_p50_p95_p99: list[list[float | None]]  # per step of latency_step_s
    nodes: dict[str, NodeSeries]
    app_servers: list[float]  # running, sampled each second
    step_s: float = 1.0


@dataclass(frozen=True)
class Worker:
    """The process that ran a replication on this machine's pool, and its memory after it."""
    pid: int
    rss_mb: float


@dataclass(frozen=True)
class LoggedRequest:
    """A request of simulation.log_requests: when it arrived and ended (None: in flight at the
    end), its operation, its outcome ("ok" or the failure reason; None in flight), the app
    server it was sent to (None: none)."""
    arrived_s: float
    ended_s: float | None
    op: str
    outcome: str | None
    app: str | None


@dataclass(frozen=True)
class Replication:
    """One replication's raw figures, whichever engine ran it. Counts and histograms cover the
    measured window (after the warm-up) unless their name says otherwise."""
    totals: Totals
    window_s: float
    completed_in_window: int
    failed_in_window: int
    fail_reasons: dict[str, int]
    session_writes: int
    fallbacks: int                  # session calls the circuit breaker sent to PostgreSQL
    events: tuple[Event, ...]
    lost_writes: tuple[LostWrite, ...]
    bins: Bins
    incident_t_s: np.ndarray        # completions around the first failure, in time order
    incident_latency_s: np.ndarray  # and their latencies
    baseline_hist: LogHistogram     # latencies before the first failure
    latency_hist: LogHistogram
    latency_hist_by_op: dict[str, LogHistogram]
    nodes: dict[str, NodeFigures]
    lb_in_system: int               # requests the load balancers hold at the end
    series: Series
    nodes_by_price_kind: dict[str, float]  # node counts by the price file's kinds
    bulk_requests: int | None = None  # the fast engine's: requests run in calm stretches
    request_log: tuple[LoggedRequest, ...] = ()  # the first simulation.log_requests requests
    worker: Worker | None = None


def plain(value):
    """A typed record as plain data (dicts, lists, numbers, strings), for JSON: each dataclass
    as the dict of its fields, a pydantic model (the scenario) resolved."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "model_dump_json"):
        from sim.model.scenario import resolved
        return resolved(value)
    return value
