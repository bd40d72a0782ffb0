"""A dozen plain-text lines for the terminal after a run."""
from __future__ import annotations

from reporting import fmt, stability
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


def _failures(failures: list[dict]) -> str:
    """The failure matrix in a few columns (report.md has all of them, with the claims)."""
    rows = [[f["name"], fmt.figure(f.get("detection_s"), "s"), fmt.figure(f.get("rto_s"), "s"),
             fmt.figure(f.get("impaired_s"), "s"), fmt.figure(f.get("failed_requests")),
             fmt.figure(f.get("lost_writes")), f.get("verdict", fmt.DASH)] for f in failures]
    return fmt.table(["failure", "detection", "RTO", "impaired", "failed requests", "writes lost",
                      "verdict"], rows, align="lllllll", style="plain")
