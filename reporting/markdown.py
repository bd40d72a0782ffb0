"""report.md: what a reviewer pastes into a design review."""
from __future__ import annotations

import textwrap

from reporting import fmt, incidents, stability
from reporting.figures import (LATENCY_ROWS, headline, objective_label, objective_target,
                               objective_value, verdict, window)
from sim.study.report import Latency, NodeSummary, Report

PLOTS = (("Throughput and latency over time", "timeline.png"),
         ("Utilisation per node over time", "utilisation.png"),
         ("Cost per month by line", "cost.png"))

HOW_TO_READ = """\
## How to read this

Each figure is the mean over independent replications (same scenario, different random streams)
with its 95% confidence interval in brackets (Student t over the replications); a figure without
brackets came out the same in every replication. Only the measured window counts: the warm-up is
left out. Latencies are server side, from a request's arrival at the load balancer to its
response, for successful requests. Utilisation is busy servers / servers of a node, averaged over
the window. Headroom to saturation is 1 / the highest node utilisation: a linear extrapolation of
the load to the point where the first node (the bottleneck) saturates; queueing makes latency
climb well before that. Little's law: L (mean requests in the node) should equal λW (throughput ×
mean time in the node); a gap means the node did not reach steady state within the window.
Node, tier and operation tables show means over replications."""


def render(report: Report, plots: list[str] | None = None) -> str:
    """The markdown report; `plots` are the image file names to link (default: the standard three)."""
    sections = [_title(report), stability.section(report), _headline(report), _objectives(report),
                _by_operation(report), incidents.render(report), _tiers(report), _nodes(report),
                _failures(report), _cost(report), _conservation(report), HOW_TO_READ, _plots(plots)]
    return "\n\n".join(s for s in sections if s) + "\n"


def _title(report: Report) -> str:
    scenario, tool = report.scenario, report.tool
    duration, warmup = window(report)
    facts = [f"architecture `{scenario.architecture}`", f"seed {report.seed}",
             f"{report.replications} replications",
             f"{fmt.count(duration)} s simulated each, of which {fmt.count(warmup)} s warm-up",
             f"{tool.name} {tool.version}", f"engine {tool.engine}",
             f"{fmt.num(report.run.wall_s)} s wall time"]
    lines = [f"# Scenario `{report.name}`"]
    if scenario.description:
        lines += ["", scenario.description]
    return "\n".join(lines + ["", " · ".join(facts)])


BASELINE_NOTE = ("*The headline, objectives, nodes and plots below are the healthy baseline: the "
                 "scenario run without failures. Each failure's own run is in the failure matrix.*\n\n")


def _headline(report: Report) -> str:
    note = BASELINE_NOTE if report.healthy_baseline else ""
    return "## Headline\n\n" + note + fmt.table(["Figure", "Value (95% CI)"], headline(report), align="ll")


def _objectives(report: Report) -> str:
    objectives = report.objectives
    if not objectives:
        return ""
    rows = [[objective_label(k), objective_target(k, o), objective_value(k, o), verdict(o)]
            for k, o in objectives.items()]
    notes = [textwrap.fill(f"- {objective_label(k)}: {o.rule}" + (f" ({o.reason})" if o.reason else ""),
                           width=100, subsequent_indent="  ")
             for k, o in objectives.items()]
    return "## Objectives\n\n" + fmt.table(
        ["Objective", "Target", "Simulated (95% CI)", "Verdict"], rows, align="lrrl") + (
        "\n\nHow each is judged:\n\n" + "\n".join(notes))


def _latency_cells(lat: Latency) -> list[str]:
    keys = [k for k, _ in LATENCY_ROWS] + ["mean"]
    return [fmt.num(getattr(lat, k)["mean"]) for k in keys]


def _by_operation(report: Report) -> str:
    ops = report.metrics.latency_ms_by_operation
    if not ops:
        return ""
    mix = report.scenario.workload.mix
    rows = [[op, fmt.pct(mix[op], exact=True)] + _latency_cells(lat) for op, lat in ops.items()]
    header = ["Operation", "Share of requests"] + [f"{label} (ms)" for _, label in LATENCY_ROWS]
    return "## Latency by operation\n\n" + fmt.table(header + ["mean (ms)"], rows)


def _tiers(report: Report) -> str:
    rows = [[tier, _throughput(t.throughput_rps, tier == "redis (replica)"),
             fmt.pct(t.utilisation_mean["mean"]), fmt.pct(t.utilisation_max["mean"]),
             fmt.num(t.latency_ms.p50["mean"]), fmt.num(t.latency_ms.p99["mean"])]
            for tier, t in report.tiers.items()]
    if not rows:
        return ""
    header = ["Tier", "Throughput (req/s)", "Utilisation mean", "Utilisation max",
              "p50 (ms)", "p99 (ms)"]
    return "## Tiers\n\n" + fmt.table(header, rows) + _batches_note(rows)


def _role(node: NodeSummary) -> str:
    return node.kind if node.role == node.kind else f"{node.kind} ({node.role})"


def _nodes(report: Report) -> str:
    rows = [[n, _role(v), fmt.count(v.capacity), fmt.pct(v.utilisation["mean"]),
             _throughput(v.throughput_rps, v.kind == "redis" and v.role == "replica"),
             fmt.num(v.queue_mean["mean"]), fmt.num(v.latency_ms.p50["mean"]),
             fmt.num(v.latency_ms.p99["mean"]), fmt.num(v.in_system_mean["mean"]),
             fmt.num(v.littles_law_lambda_w["mean"])]
            for n, v in report.nodes.items()]
    if not rows:
        return ""
    header = ["Node", "Kind (role)", "Capacity", "Utilisation", "Throughput (req/s)", "Mean queue",
              "p50 (ms)", "p99 (ms)", "L", "λW"]
    return "## Nodes\n\n" + fmt.table(header, rows, align="llrrrrrrrr") + _batches_note(rows)


def _throughput(figure: dict, batches: bool) -> str:
    """Requests per second; a Redis replica's are batches of the master's write stream."""
    text = fmt.num(figure["mean"])
    return f"{text} batches" if batches and text != fmt.DASH else text


def _batches_note(rows: list[list[str]]) -> str:
    if not any(str(cell).endswith(" batches") for row in rows for cell in row):
        return ""
    return ("\n\nA Redis replica applies the master's write stream in batches (one per replication "
            "interval):\nits throughput counts batches per second, not requests.")


def _failures(report: Report) -> str:
    reasons = report.failure_reasons
    if not reasons:
        return ""
    total = sum(f["mean"] for f in reasons.values())
    rows = [[reason, fmt.figure(f), fmt.pct(f["mean"] / total) if total else fmt.DASH]
            for reason, f in sorted(reasons.items(), key=lambda kv: -kv[1]["mean"])]
    return "## Failures by reason\n\n" + fmt.table(
        ["Reason", "Failed requests per replication (95% CI)", "Share of failures"], rows)


def _cost(report: Report) -> str:
    cost = report.cost
    rows = [[kind, fmt.count(line.count), fmt.money(line.unit_usd_per_month),
             fmt.money(line.usd_per_month)] for kind, line in cost.nodes.items()]
    rows += [[f"{item} (fixed)", "", "", fmt.money(usd)]
             for item, usd in cost.fixed_usd_per_month.items()]
    rows.append(["**Total**", "", "", f"**{fmt.money(cost.total_usd_per_month)}**"])
    return f"## Cost per month\n\nPrices from `{cost.price_file}`.\n\n" + fmt.table(
        ["Line", "Count", "Unit (USD/month)", "USD/month"], rows, align="lrrr")


def _conservation(report: Report) -> str:
    rows = [[i, fmt.num(t.arrived, places=0), fmt.num(t.completed, places=0),
             fmt.num(t.failed, places=0), fmt.num(t.in_flight, places=0),
             fmt.num(t.lb_in_system, places=0), "yes" if t.lb_in_system == t.in_flight else "**NO**"]
            for i, t in enumerate(report.conservation, 1)]
    header = ["Replication", "Arrived", "Completed", "Failed", "In flight (arrived - done - failed)",
              "Counted at the load balancers", "Agree"]
    intro = textwrap.fill(
        "Requests of the whole run (warm-up included). In flight at the end by difference of the "
        "request books, beside the requests the load balancers themselves hold at the end (a "
        "connection, or a place in their queue): every request holds one until it ends, so the two "
        "independent counts must agree.", width=100) + "\n\n"
    return "## Conservation\n\n" + intro + fmt.table(header, rows, align="lrrrrrl")


def _plots(plots: list[str] | None) -> str:
    files = {f for _, f in PLOTS} if plots is None else set(plots)
    links = [f"![{title}]({file})" for title, file in PLOTS if file in files]
    return "## Plots\n\n" + "\n\n".join(links) if links else ""
