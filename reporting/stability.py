"""What a reviewer must read before any figure: is the run a steady state, what load it offered,
its worst window when the load varies, and how many replications the verdicts took."""
from __future__ import annotations

import textwrap

from reporting import fmt
from reporting.figures import dig


def line(report: dict) -> str:
    """One line for the terminal: 'run steady: offered ...' or 'RUN NOT STEADY (...)'."""
    st = report.get("stability")
    if not st:
        return ""
    offered = f"offered {fmt.num(st.get('offered_rps'))} req/s"
    if st.get("steady"):
        return f"run steady ({offered}; report.md states the rule)"
    return "RUN NOT STEADY, nothing judged: " + "; ".join(st.get("reasons") or [])


def _sequential(report: dict) -> str:
    seq = report.get("sequential")
    if not seq or not seq.get("until_decided"):
        return ""
    text = (f"Replications added in batches of {seq['minimum']} until every judged verdict was "
            f"decided, at most {seq['maximum']}: {seq['ran']} ran.")
    if seq.get("undecided"):
        text += " Still uncertain: " + ", ".join(seq["undecided"]) + "."
    return textwrap.fill(text, width=100)


def _worst(report: dict) -> str:
    w = report.get("worst_window")
    if not w:
        return ""
    start, length = w.get("start_s") or 0, w.get("length_s") or 0
    rows = [["Offered load", fmt.figure(w.get("offered_rps"), unit="req/s")],
            ["Throughput", fmt.figure(w.get("throughput_rps"), unit="req/s")],
            ["Error rate", fmt.pct_figure(w.get("error_rate"))],
            ["Share slower than the p99 objective", fmt.pct_figure(w.get("slower_than_p99_objective_share"))],
            ["Bottleneck utilisation", fmt.pct_figure(w.get("bottleneck_utilisation"))],
            ["Headroom to saturation", fmt.figure(w.get("headroom_x"), unit="×")]]
    return (f"### Worst window: {fmt.num(start)} s to {fmt.num(start + length)} s\n\n"
            + textwrap.fill("The load varies, so whole-run averages hide its peak: the objectives are "
                            f"judged in the {fmt.num(length)} s {w.get('chosen_by', '')}.",
                            width=100) + "\n\n"
            + fmt.table(["Figure", "Value (95% CI)"], rows, align="ll"))


def section(report: dict) -> str:
    """'## Stability' for report.md: steady or not and why, offered against carried load."""
    st = report.get("stability")
    if not st:
        return ""
    if st.get("steady"):
        head = "The run is a steady state by the rule below: its averages describe the system."
    else:
        head = ("**The run is not steady: its averages depend on the run's length, not on the "
                "system,\nand no objective or claim is judged from it.**\n\n"
                + "\n".join(f"- {r}" for r in st.get("reasons") or []))
    backlog = st.get("backlog") or {}
    rows = [["Offered load (arrivals in the window)",
             fmt.figure(dig(report, "metrics", "offered_rps"), unit="req/s")],
            ["Throughput (completions in the window)",
             fmt.figure(dig(report, "metrics", "throughput_rps"), unit="req/s")],
            ["In the system at the window's start / end (mean of the replications)",
             f"{fmt.num(backlog.get('in_system_at_start'))} / {fmt.num(backlog.get('in_system_at_end'))}"],
            ["Busiest node", f"{dig(st, 'busiest_node', 'name', default=fmt.DASH)} "
                             f"{fmt.pct(dig(st, 'busiest_node', 'utilisation'))} busy"]]
    parts = ["## Stability", head, fmt.table(["Figure", "Value"], rows, align="ll"),
             textwrap.fill(f"Rule: {st.get('rule', '')}.", width=100), _sequential(report), _worst(report)]
    return "\n\n".join(p for p in parts if p)
