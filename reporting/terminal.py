"""A dozen plain-text lines for the terminal after a run."""
from __future__ import annotations

from reporting import fmt, incidents, stability
from reporting.figures import (cost_figure, dig, headroom, latency, name, objective_label,
                               objective_target, objective_value, verdict)


def summary(report: dict) -> str:
    m = report.get("metrics") or {}
    rows = [["offered load", fmt.figure(m.get("offered_rps"), unit="req/s")],
            ["throughput", fmt.figure(m.get("throughput_rps"), unit="req/s")],
            ["p50", latency(report, "p50")],
            ["p99", latency(report, "p99")],
            ["p99.9", latency(report, "p999")],
            ["error rate", fmt.pct_figure(m.get("error_rate"))],
            ["headroom", headroom(report)],
            ["cost", cost_figure(report)]]
    for key, obj in (report.get("objectives") or {}).items():
        rows.append([f"{objective_label(key)} {objective_target(key, obj)}",
                     f"{verdict(obj, markdown=False).upper()}: {objective_value(key, obj)}"])
    scenario = report.get("scenario") or {}
    title = (f"{name(report)}: {scenario.get('architecture', '?')}, "
             f"{report.get('replications', '?')} replications, seed {report.get('seed', '?')}")
    baseline = "headline and objectives: the healthy baseline (no failure)" \
        if report.get("healthy_baseline") else ""
    text = "\n".join(t for t in (title, stability.line(report), baseline) if t)
    text += "\n" + fmt.table(["figure", "mean (95% CI)"], rows, align="ll", style="plain")
    if report.get("failures"):
        text += "\n\n" + _failures(report["failures"])
    failed = sum(fmt.mean(f) or 0 for f in (report.get("failure_reasons") or {}).values())
    if failed:
        reasons = ", ".join(f"{k} {fmt.num(fmt.mean(v))}"
                            for k, v in dig(report, "failure_reasons", default={}).items())
        text += f"\nfailures per replication by reason: {reasons}"
    return text


TERMINAL_TIMING = tuple(f for f in incidents.TIMING if f[0] not in ("action_s", "outage_s"))
TERMINAL_IMPACT = tuple(f for f in incidents.IMPACT
                        if f[0] in ("failed_requests", "lost_writes", "p99_during_ms", "cost_usd"))


def _failures(failures: list[dict]) -> str:
    """The failure matrix in two tables of 120 columns at most (report.md has all the figures,
    with the claims)."""
    timing = fmt.table(["Failure"] + [label for _, label, _ in TERMINAL_TIMING] + ["Verdict"],
                       [[f["name"]] + incidents.cells(f, TERMINAL_TIMING) + [f.get("verdict", fmt.DASH)]
                        for f in failures], style="plain")
    impact = fmt.table(["Failure"] + [incidents.header(label, unit)
                                      for _, label, unit in TERMINAL_IMPACT],
                       [[f["name"]] + incidents.cells(f, TERMINAL_IMPACT) for f in failures],
                       style="plain")
    return timing + "\n\n" + impact
