"""A failure's entry in a report (sim.study.failure_matrix): its incident's figures over the
replications (sim.study.incident's definitions), its run, a timeline, and the claims judged."""
from __future__ import annotations

from dataclasses import dataclass, field

Figure = dict  # sim.study.report.Figure: {"mean", "ci95"}


@dataclass(frozen=True)
class Part:
    """One figure an impact word is judged by (the claims file's `impact_words`)."""
    figure: str
    op: str
    value: float
    verdict: str


@dataclass(frozen=True)
class WithCondition:
    """A claim's figure again under the condition the claims file names."""
    figure: Figure | None
    verdict: str


@dataclass(frozen=True)
class Check:
    """A claim of the document judged (sim.study.claims.checks): a figure "op value", or the impact
    word (figure "impact") by its parts. Verdict "holds", "fails", "uncertain", "no data",
    "not judged" or "holds only with <condition>"."""
    figure: str
    claimed: str   # the document's words
    verdict: str
    op: str | None = None
    value: float | None = None
    note: str = ""
    means: str = ""  # an impact word's meaning
    parts: list[Part] | None = None
    with_condition: WithCondition | None = None


@dataclass(frozen=True)
class Condition:
    """The condition a claim was tried under, when it failed or stayed uncertain."""
    text: str
    figures: list[str]
    replications: int


@dataclass(frozen=True)
class Timeline:
    """Replication 0 around the failure, in steps of step_s."""
    step_s: float
    throughput_rps: list[float]
    error_rate: list[float]
    p99_ms: list[float | None]
    failure_at_s: float
    events: list[tuple[float, str, str, str | None]]  # sim.engines.results.Event


@dataclass(frozen=True)
class RunFigures:
    """The headline of the run with the failure: its whole measured window."""
    offered_rps: Figure
    throughput_rps: Figure
    error_rate: Figure
    failed_requests: Figure
    p99_ms: Figure


@dataclass(frozen=True)
class FailureEntry:
    name: str
    component: str
    kind: str
    at_s: float
    repair_after_s: float | None
    replications: int
    # sim.study.incident.measure's figures, each over the replications
    baseline_throughput_rps: Figure
    baseline_error_rate: Figure
    baseline_p99_ms: Figure
    detection_s: Figure
    alert_s: Figure
    action_s: Figure
    rto_s: Figure
    impaired_s: Figure
    outage_s: Figure
    failed_requests: Figure
    lost_writes: Figure
    lost_writes_span_s: Figure
    throughput_during_rps: Figure
    error_rate_during: Figure
    error_rate_beyond_writes_during: Figure
    p99_during_ms: Figure
    slowdown_x: Figure
    fallback_writes: Figure
    revenue_lost_usd: Figure
    infrastructure_usd: Figure
    cost_usd: Figure
    run: RunFigures
    not_recovered_replications: int
    timeline: Timeline
    checks: list[Check] = field(default_factory=list)
    verdict: str = "not claimed"  # sim.study.claims.overall of the checks
    undecided: list[str] = field(default_factory=list)  # checks still uncertain (a matrix's)
    claimed: dict[str, str | None] = field(default_factory=dict)  # the claims file's words
    condition: Condition | None = None

    def figure(self, name: str) -> Figure:
        """A figure by the name a claims file gives it (sim.study.claims.FIGURES)."""
        return getattr(self, name)
