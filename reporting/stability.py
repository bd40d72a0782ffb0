"""What a reviewer must read before any figure: is the run a steady state, what load it offered,
its worst window when the load varies, and how many replications the verdicts took."""
from __future__ import annotations

import textwrap

from reporting import fmt
from sim.study.report import Report


def line(report: Report) -> str:
    """One line for the terminal: 'run steady: offered ...' or 'RUN NOT STEADY (...)'."""
    st = report.stability
    if st.steady:
        return f"run steady (offered {fmt.num(st.offered_rps)} req/s; report.md states the rule)"
    return "RUN NOT STEADY, nothing judged: " + "; ".join(st.reasons)


def _sequential(report: Report) -> str:
    seq = report.sequential
    if seq is None or not seq.until_decided:
        return ""
    text = (f"Replications added in batches of {seq.minimum} until every judged verdict was "
            f"decided, at most {seq.maximum}: {seq.ran} ran.")
    if seq.undecided:
        text += " Still uncertain: " + ", ".join(seq.undecided) + "."
    return textwrap.fill(text, width=100)


def _worst(report: Report) -> str:
    w = report.worst_window
    if w is None:
        return ""
    rows = [["Offered load", fmt.figure(w.offered_rps, unit="req/s")],
            ["Throughput", fmt.figure(w.throughput_rps, unit="req/s")],
            ["Error rate", fmt.pct_figure(w.error_rate)],
            ["Share slower than the p99 objective", fmt.pct_figure(w.slower_than_p99_objective_share)],
            ["Bottleneck utilisation", fmt.pct_figure(w.bottleneck_utilisation)],
            ["Headroom to saturation", fmt.figure(w.headroom_x, unit="×")]]
    return (f"### Worst window: {fmt.num(w.start_s)} s to {fmt.num(w.start_s + w.length_s)} s\n\n"
            + textwrap.fill("The load varies, so whole-run averages hide its peak: the objectives are "
                            f"judged in the {fmt.num(w.length_s)} s {w.chosen_by}.",
                            width=100) + "\n\n"
            + fmt.table(["Figure", "Value (95% CI)"], rows, align="ll"))


def section(report: Report) -> str:
    """'## Stability' for report.md: steady or not and why, offered against carried load."""
    st = report.stability
    if st.steady:
        head = "The run is a steady state by the rule below: its averages describe the system."
    else:
        head = ("**The run is not steady: its averages depend on the run's length, not on the "
                "system,\nand no objective or claim is judged from it.**\n\n"
                + "\n".join(f"- {r}" for r in st.reasons))
    rows = [["Offered load (arrivals in the window)",
             fmt.figure(report.metrics.offered_rps, unit="req/s")],
            ["Throughput (completions in the window)",
             fmt.figure(report.metrics.throughput_rps, unit="req/s")],
            ["In the system at the window's start / end (mean of the replications)",
             f"{fmt.num(st.backlog.in_system_at_start)} / {fmt.num(st.backlog.in_system_at_end)}"],
            ["Busiest node", f"{st.busiest_node.name} {fmt.pct(st.busiest_node.utilisation)} busy"]]
    parts = ["## Stability", head, fmt.table(["Figure", "Value"], rows, align="ll"),
             textwrap.fill(f"Rule: {st.rule}.", width=100), _sequential(report), _worst(report)]
    return "\n\n".join(p for p in parts if p)
