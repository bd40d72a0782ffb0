"""A dozen plain-text lines for the terminal after a run."""
from __future__ import annotations

from reporting import fmt, incidents, stability
from reporting.figures import (cost_figure, headroom, latency, objective_label, objective_target,
                               objective_value, verdict)
from sim.study.failure_entry import FailureEntry
from sim.study.report import Report


def summary(report: Report) -> str:
    m = report.metrics
    rows = [["offered load", fmt.figure(m.offered_rps, unit="req/s")],
            ["throughput", fmt.figure(m.throughput_rps, unit="req/s")],
            ["p50", latency(report, "p50")],
            ["p99", latency(report, "p99")],
            ["p99.9", latency(report, "p999")],
            ["error rate", fmt.pct_figure(m.error_rate)],
            ["headroom", headroom(report)],
            ["cost", cost_figure(report)]]
    for key, obj in report.objectives.items():
        rows.append([f"{objective_label(key)} {objective_target(key, obj)}",
                     f"{verdict(obj, markdown=False).upper()}: {objective_value(key, obj)}"])
    title = (f"{report.name}: {report.scenario.architecture}, {report.replications} replications, "
             f"seed {report.seed}")
    baseline = "headline and objectives: the healthy baseline (no failure)" \
        if report.healthy_baseline else ""
    text = "\n".join(t for t in (title, stability.line(report), baseline) if t)
    text += "\n" + fmt.table(["figure", "mean (95% CI)"], rows, align="ll", style="plain")
    if report.failures:
        text += "\n\n" + _failures(report.failures)
    reasons = report.failure_reasons
    if sum(f["mean"] for f in reasons.values()):
        text += "\nfailures per replication by reason: " + ", ".join(
            f"{k} {fmt.num(v['mean'])}" for k, v in reasons.items())
    return text


TERMINAL_TIMING = tuple(f for f in incidents.TIMING if f[0] not in ("action_s", "outage_s"))
TERMINAL_IMPACT = tuple(f for f in incidents.IMPACT
                        if f[0] in ("failed_requests", "lost_writes", "p99_during_ms", "cost_usd"))


def _failures(failures: list[FailureEntry]) -> str:
    """The failure matrix in two tables of 120 columns at most (report.md has all the figures,
    with the claims)."""
    timing = fmt.table(["Failure"] + [label for _, label, _ in TERMINAL_TIMING] + ["Verdict"],
                       [[f.name] + incidents.cells(f, TERMINAL_TIMING) + [f.verdict]
                        for f in failures], style="plain")
    impact = fmt.table(["Failure"] + [incidents.header(label, unit)
                                      for _, label, unit in TERMINAL_IMPACT],
                       [[f.name] + incidents.cells(f, TERMINAL_IMPACT) for f in failures],
                       style="plain")
    return timing + "\n\n" + impact
