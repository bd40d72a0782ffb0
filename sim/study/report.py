"""What the study hands the reports: a run's report, typed (frozen dataclasses), so that a renamed
figure fails where the reports read it instead of printing a dash. report.json is its to_dict();
from_dict reads one back, checking every field.

A figure is the {"mean", "ci95": [low, high]} mapping sim.study.stats.ci95 makes: the mean over the
replications and its 95% interval (None without data, or without an interval from one
replication). The ledger, the availability model and the calibration read the same shape from
JSON files, so it stays a mapping; the names of figures are the fields below.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from sim.study.failure_entry import FailureEntry
from sim.engines.results import LoggedRequest, Series, plain
from sim.model.schema import Scenario

Figure = dict  # {"mean": float | None, "ci95": [float | None, float | None]}


@dataclass(frozen=True)
class Latency:
    """Latency quantiles and mean, in ms (each a figure in a report)."""
    p50: Figure
    p95: Figure
    p99: Figure
    p999: Figure
    mean: Figure


@dataclass(frozen=True)
class Metrics:
    """The headline of the measured window."""
    offered_rps: Figure
    throughput_rps: Figure
    carried_share: Figure         # of the window's arrivals, those that completed in it
    latency_ms: Latency
    error_rate: Figure
    failed_requests: Figure       # per replication
    session_writes_per_s: Figure
    headroom_x: Figure            # 1 / the busiest node's utilisation
    redis_memory_mb: Figure       # sim.study.redis_memory
    latency_ms_by_operation: dict[str, Latency]
    cost_usd_per_month: Figure


@dataclass(frozen=True)
class NodeSummary:
    kind: str
    role: str
    capacity: int
    utilisation: Figure
    throughput_rps: Figure
    latency_ms: Latency
    queue_mean: Figure
    in_system_mean: Figure        # L
    waited_fraction: Figure
    sojourn_mean_ms: Figure       # W
    littles_law_lambda_w: Figure  # throughput x W: equals L in a steady state


@dataclass(frozen=True)
class TierSummary:
    utilisation_mean: Figure
    utilisation_max: Figure
    throughput_rps: Figure
    latency_ms: Latency


@dataclass(frozen=True)
class Backlog:
    """Requests in the system, mean of the replications (sim.study.stability.backlog)."""
    in_system_at_start: float
    in_system_at_end: float
    arrived_in_window: float


@dataclass(frozen=True)
class BusiestNode:
    name: str
    utilisation: float


@dataclass(frozen=True)
class Stability:
    """Is the run a steady state whose averages mean something (sim.study.stability.assess)?"""
    steady: bool
    reasons: list[str]
    time_varying: bool
    offered_rps: float
    backlog: Backlog
    busiest_node: BusiestNode
    rule: str


@dataclass(frozen=True)
class WorstWindow:
    """A varying load's worst window (sim.study.stability.worst_window)."""
    start_s: float
    length_s: float
    chosen_by: str
    offered_rps: Figure
    throughput_rps: Figure
    error_rate: Figure
    slower_than_p99_objective_share: Figure
    carried_share: Figure
    bottleneck_utilisation: Figure
    headroom_x: Figure


@dataclass(frozen=True)
class Objective:
    """An objective judged (sim.study.objectives): verdict "met", "missed", "uncertain" or "not judged"."""
    target: float
    operator: str
    value: Figure
    verdict: str
    rule: str
    reason: str = ""
    share_slower: Figure | None = None  # a varying load's p99: the share slower than the target
    offered_rps: Figure | None = None   # the throughput objective's


@dataclass(frozen=True)
class CostLine:
    count: float
    unit_usd_per_month: float
    usd_per_month: float


@dataclass(frozen=True)
class Cost:
    """sim.model.cost.monthly_cost of the replications' mean fleet."""
    price_file: str
    nodes: dict[str, CostLine]
    fixed_usd_per_month: dict[str, float]
    total_usd_per_month: float
    basis: str


@dataclass(frozen=True)
class Conservation:
    """A replication's requests, warm-up included: in flight by difference, beside those the load
    balancers hold at the end (the two must agree)."""
    arrived: int
    completed: int
    failed: int
    in_flight: int
    lb_in_system: int


@dataclass(frozen=True)
class RunInfo:
    wall_s: float
    finished_at: str
    simulated_requests: int
    simulated_requests_per_wall_s: float


@dataclass(frozen=True)
class Sequential:
    """Replications added in batches while a verdict was undecided (sim.study.runner.sequential)."""
    until_decided: bool
    ran: int
    minimum: int
    maximum: int
    undecided: list[str]


@dataclass(frozen=True)
class Tool:
    name: str
    version: str
    engine: str


@dataclass(frozen=True)
class Report:
    """A scenario's run: its figures with their intervals, verdicts and series."""
    tool: Tool
    scenario: Scenario
    seed: int
    replications: int
    stability: Stability
    metrics: Metrics
    worst_window: WorstWindow | None  # a varying load's
    failure_reasons: dict[str, Figure]
    nodes: dict[str, NodeSummary]
    tiers: dict[str, TierSummary]
    cost: Cost
    objectives: dict[str, Objective]
    conservation: list[Conservation]
    series: Series
    run: RunInfo
    sequential: Sequential | None = None
    failures: list[FailureEntry] = field(default_factory=list)  # sim.study.failure_matrix
    healthy_baseline: bool = False  # headline and objectives from the run without failures
    scenario_file: str | None = None
    request_logs: list[list[LoggedRequest]] | None = None  # per replication: simulation.log_requests

    @property
    def name(self) -> str:
        return self.scenario.name

    def to_dict(self) -> dict:
        """Plain data, as report.json holds it (reporting.writer.jsonable makes it JSON)."""
        return plain(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        """A report from report.json's data; a missing or mistyped field raises."""
        return _adapter().validate_python(data)


@cache
def _adapter():
    from pydantic import TypeAdapter
    return TypeAdapter(Report)
