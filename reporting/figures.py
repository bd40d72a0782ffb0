"""The report's key figures, read from the report (sim.study.report.Report) and formatted once for
every renderer."""
from __future__ import annotations

from reporting import fmt
from sim.study.report import Objective, Report

LATENCY_ROWS = (("p50", "p50"), ("p95", "p95"), ("p99", "p99"), ("p999", "p99.9"))


def bottleneck(report: Report) -> tuple[str | None, float | None, int]:
    """The node with the highest mean utilisation, that utilisation, and how many nodes of the
    same kind are within 2% of it (the twins of a balanced tier)."""
    nodes = report.nodes
    util = {n: v.utilisation["mean"] for n, v in nodes.items()}
    util = {n: u for n, u in util.items() if u is not None}
    if not util:
        return None, None, 0
    top = max(util, key=util.get)
    kind = nodes[top].kind
    alike = sum(1 for n, u in util.items() if nodes[n].kind == kind and u >= 0.98 * util[top])
    return top, util[top], alike


def headroom(report: Report, with_bottleneck: bool = True) -> str:
    """'2.66× (2.64–2.67), bottleneck app-1/cpu 37.7% busy'."""
    text = fmt.figure(report.metrics.headroom_x, unit="×").replace(" ×", "×")
    where = bottleneck_text(report) if with_bottleneck else ""
    return f"{text}, bottleneck {where}" if where else text


def bottleneck_text(report: Report) -> str:
    """'app-1/cpu 37.7% busy (3 more app_cpu nodes within 2%)', or '' without nodes."""
    node, util, alike = bottleneck(report)
    if node is None:
        return ""
    kind = report.nodes[node].kind
    twins = f" ({alike - 1} more {kind} node{'s' if alike > 2 else ''} within 2%)" if alike > 1 else ""
    return f"{node} {fmt.pct(util)} busy{twins}"


def redis_memory(report: Report) -> str:
    """'1,696 MB (1,638–1,753), 41.4% of maxmemory 4,096 MB'."""
    fig = report.metrics.redis_memory_mb
    redis = report.scenario.topology.redis
    if redis is None:
        return f"{fmt.DASH} (no Redis)"
    if fig["mean"] is None:
        return fmt.DASH
    text = fmt.figure(fig, unit="MB")
    share = fig["mean"] / redis.maxmemory_mb
    text += f", {fmt.pct(share)} of maxmemory {fmt.count(redis.maxmemory_mb)} MB"
    if share > 1:
        text += " (**over maxmemory**: evictions or write errors)"
    elif share > 0.9:
        text += " (**above the 90% RedisHighMemoryUsage alert**)"
    return text


def latency(report: Report, key: str) -> str:
    return fmt.figure(getattr(report.metrics.latency_ms, key), unit="ms")


def headline(report: Report) -> list[tuple[str, str]]:
    """(label, formatted figure with its 95% CI) in the order of the report's Headline table."""
    m = report.metrics
    rows = [("Throughput", fmt.figure(m.throughput_rps, unit="req/s"))]
    rows += [(f"Latency {label}, end to end", latency(report, key)) for key, label in LATENCY_ROWS]
    rows += [
        ("Latency mean, end to end", latency(report, "mean")),
        ("Error rate", fmt.pct_figure(m.error_rate)),
        ("Failed requests (per replication, measured window)", fmt.figure(m.failed_requests)),
        ("Session writes", fmt.figure(m.session_writes_per_s, unit="writes/s")),
        ("Headroom to saturation", headroom(report)),
        ("Redis memory", redis_memory(report)),
        ("Cost", cost_figure(report)),
    ]
    return rows


def cost_figure(report: Report) -> str:
    return f"{fmt.money(report.metrics.cost_usd_per_month['mean'])} per month"


OBJECTIVES = {  # name -> (label, formatter of a target value)
    "p99_latency_ms": ("p99 latency", lambda v: f"{fmt.count(v)} ms"),
    "mean_latency_ms": ("mean latency", lambda v: f"{fmt.count(v)} ms"),
    "error_rate": ("error rate", lambda v: fmt.pct(v, exact=True)),
    "throughput_rps": ("throughput", lambda v: f"{fmt.count(v)} req/s"),
}
OPERATORS = {"<=": "≤", ">=": "≥"}


def objective_label(key: str) -> str:
    return OBJECTIVES[key][0]


def objective_target(key: str, obj: Objective) -> str:
    return f"{OPERATORS[obj.operator]} {OBJECTIVES[key][1](obj.target)}"


def objective_value(key: str, obj: Objective) -> str:
    if key == "error_rate":
        return fmt.pct_figure(obj.value)
    unit = {"p99_latency_ms": "ms", "mean_latency_ms": "ms", "throughput_rps": "req/s"}[key]
    return fmt.figure(obj.value, unit=unit)


def verdict(obj: Objective, markdown: bool = True) -> str:
    v = obj.verdict
    return f"**{v}**" if markdown and v in ("missed", "uncertain") else v


def window(report: Report) -> tuple[float, float]:
    """(duration_s, warmup_s): duration counts the warm-up in."""
    sim = report.scenario.simulation
    return sim.duration_s, sim.warmup_s
