"""report.md: what a reviewer pastes into a design review."""
from __future__ import annotations

import textwrap

from reporting import fmt, incidents, stability
from reporting.figures import (LATENCY_ROWS, dig, headline, name, objective_label,
                               objective_target, objective_value, verdict, window)

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


def render(report: dict, plots: list[str] | None = None) -> str:
    """The markdown report; `plots` are the image file names to link (default: the standard three)."""
    sections = [_title(report), stability.section(report), _headline(report), _objectives(report), _by_operation(report),
                incidents.render(report), _tiers(report), _nodes(report), _failures(report), _cost(report),
                _conservation(report), HOW_TO_READ, _plots(plots)]
    return "\n\n".join(s for s in sections if s) + "\n"


def _title(report: dict) -> str:
    scenario = report.get("scenario") or {}
    duration, warmup = window(report)
    tool = report.get("tool") or {}
    run = report.get("run") or {}
    facts = [f"architecture `{scenario.get('architecture', fmt.DASH)}`",
             f"seed {report.get('seed', fmt.DASH)}",
             f"{report.get('replications', fmt.DASH)} replications",
             f"{fmt.count(duration)} s simulated each, of which {fmt.count(warmup)} s warm-up",
             f"{tool.get('name', 'sessionsim')} {tool.get('version', '')}".strip(),
             f"engine {tool.get('engine', fmt.DASH)}"]
    if run.get("wall_s") is not None:
        facts.append(f"{fmt.num(run['wall_s'])} s wall time")
    lines = [f"# Scenario `{name(report)}`"]
    if scenario.get("description"):
        lines += ["", scenario["description"]]
    return "\n".join(lines + ["", " · ".join(facts)])


BASELINE_NOTE = ("*The headline, objectives, nodes and plots below are the healthy baseline: the "
                 "scenario run without failures. Each failure's own run is in the failure matrix.*\n\n")


def _headline(report: dict) -> str:
    rows = headline(report)
    note = BASELINE_NOTE if report.get("healthy_baseline") else ""
    return "## Headline\n\n" + note + fmt.table(["Figure", "Value (95% CI)"], rows, align="ll")


def _objectives(report: dict) -> str:
    objectives = report.get("objectives") or {}
    if not objectives:
        return ""
    rows = [[objective_label(k), objective_target(k, o), objective_value(k, o), verdict(o)]
            for k, o in objectives.items()]
    notes = [textwrap.fill(f"- {objective_label(k)}: {o['rule']}"
                           + (f" ({o['reason']})" if o.get("reason") else ""),
                           width=100, subsequent_indent="  ")
             for k, o in objectives.items() if o.get("rule")]
    return "## Objectives\n\n" + fmt.table(
        ["Objective", "Target", "Simulated (95% CI)", "Verdict"], rows, align="lrrl") + (
        "\n\nHow each is judged:\n\n" + "\n".join(notes) if notes else "")


def _latency_cells(lat: dict | None) -> list[str]:
    keys = [k for k, _ in LATENCY_ROWS] + ["mean"]
    return [fmt.num(fmt.mean(dig(lat, k))) for k in keys]


def _by_operation(report: dict) -> str:
    ops = dig(report, "metrics", "latency_ms_by_operation", default={})
    if not ops:
        return ""
    mix = dig(report, "scenario", "workload", "mix", default={})
    rows = [[op, fmt.pct(mix.get(op), exact=True)] + _latency_cells(lat) for op, lat in ops.items()]
    header = ["Operation", "Share of requests"] + [f"{label} (ms)" for _, label in LATENCY_ROWS]
    return "## Latency by operation\n\n" + fmt.table(header + ["mean (ms)"], rows)


def _tiers(report: dict) -> str:
    tiers = report.get("tiers") or {}
    if not tiers:
        return ""
    rows = [[tier, _throughput(t, tier == "redis (replica)"),
             fmt.pct(fmt.mean(t.get("utilisation_mean"))), fmt.pct(fmt.mean(t.get("utilisation_max"))),
             fmt.num(fmt.mean(dig(t, "latency_ms", "p50"))), fmt.num(fmt.mean(dig(t, "latency_ms", "p99")))]
            for tier, t in tiers.items()]
    header = ["Tier", "Throughput (req/s)", "Utilisation mean", "Utilisation max",
              "p50 (ms)", "p99 (ms)"]
    return "## Tiers\n\n" + fmt.table(header, rows) + _batches_note(rows)


def _role(node: dict) -> str:
    kind, role = node.get("kind") or fmt.DASH, node.get("role")
    return kind if not role or role == kind else f"{kind} ({role})"


def _nodes(report: dict) -> str:
    nodes = report.get("nodes") or {}
    if not nodes:
        return ""
    rows = [[n, _role(v), fmt.count(v.get("capacity")), fmt.pct(fmt.mean(v.get("utilisation"))),
             _throughput(v, _replica(v)), fmt.num(fmt.mean(v.get("queue_mean"))),
             fmt.num(fmt.mean(dig(v, "latency_ms", "p50"))), fmt.num(fmt.mean(dig(v, "latency_ms", "p99"))),
             fmt.num(fmt.mean(v.get("in_system_mean"))), fmt.num(fmt.mean(v.get("littles_law_lambda_w")))]
            for n, v in nodes.items()]
    header = ["Node", "Kind (role)", "Capacity", "Utilisation", "Throughput (req/s)", "Mean queue",
              "p50 (ms)", "p99 (ms)", "L", "λW"]
    return "## Nodes\n\n" + fmt.table(header, rows, align="llrrrrrrrr") + _batches_note(rows)


def _replica(node: dict) -> bool:
    return node.get("kind") == "redis" and node.get("role") == "replica"


def _throughput(figures: dict, batches: bool) -> str:
    """Requests per second; a Redis replica's are batches of the master's write stream."""
    text = fmt.num(fmt.mean(figures.get("throughput_rps")))
    return f"{text} batches" if batches and text != fmt.DASH else text


def _batches_note(rows: list[list[str]]) -> str:
    if not any(str(cell).endswith(" batches") for row in rows for cell in row):
        return ""
    return ("\n\nA Redis replica applies the master's write stream in batches (one per replication "
            "interval):\nits throughput counts batches per second, not requests.")


def _failures(report: dict) -> str:
    reasons = report.get("failure_reasons") or {}
    if not reasons:
        return ""
    total = sum(fmt.mean(f) or 0 for f in reasons.values())
    rows = [[reason, fmt.figure(f), fmt.pct((fmt.mean(f) or 0) / total) if total else fmt.DASH]
            for reason, f in sorted(reasons.items(), key=lambda kv: -(fmt.mean(kv[1]) or 0))]
    return "## Failures by reason\n\n" + fmt.table(
        ["Reason", "Failed requests per replication (95% CI)", "Share of failures"], rows)


def _cost(report: dict) -> str:
    cost = report.get("cost") or {}
    if not cost:
        return ""
    rows = [[kind, fmt.count(line.get("count")), fmt.money(line.get("unit_usd_per_month")),
             fmt.money(line.get("usd_per_month"))] for kind, line in (cost.get("nodes") or {}).items()]
    rows += [[f"{item} (fixed)", "", "", fmt.money(usd)]
             for item, usd in (cost.get("fixed_usd_per_month") or {}).items()]
    rows.append(["**Total**", "", "", f"**{fmt.money(cost.get('total_usd_per_month'))}**"])
    source = f"Prices from `{cost['price_file']}`.\n\n" if cost.get("price_file") else ""
    return "## Cost per month\n\n" + source + fmt.table(
        ["Line", "Count", "Unit (USD/month)", "USD/month"], rows, align="lrrr")


def _conservation(report: dict) -> str:
    reps = report.get("conservation") or []
    if not reps:
        return ""
    rows = []
    for i, t in enumerate(reps, 1):
        agrees = t.get("lb_in_system") == t.get("in_flight")
        rows.append([i, fmt.num(t.get("arrived"), places=0), fmt.num(t.get("completed"), places=0),
                     fmt.num(t.get("failed"), places=0), fmt.num(t.get("in_flight"), places=0),
                     fmt.num(t.get("lb_in_system"), places=0),
                     "yes" if agrees else "**NO**"])
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
