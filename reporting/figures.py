"""The report's key figures, read from the report dict and formatted once for every renderer."""
from __future__ import annotations

from typing import Any

from reporting import fmt

LATENCY_ROWS = (("p50", "p50"), ("p95", "p95"), ("p99", "p99"), ("p999", "p99.9"))


def dig(d: Any, *keys: str, default: Any = None) -> Any:
    """d[k1][k2]... or default when any level is missing or None."""
    for key in keys:
        if not isinstance(d, dict) or d.get(key) is None:
            return default
        d = d[key]
    return d


def name(report: dict) -> str:
    return dig(report, "scenario", "name", default="(unnamed scenario)")


def bottleneck(report: dict) -> tuple[str | None, float | None, int]:
    """The node with the highest mean utilisation, that utilisation, and how many nodes of the
    same kind are within 2% of it (the twins of a balanced tier)."""
    nodes = report.get("nodes") or {}
    util = {n: fmt.mean(v.get("utilisation")) for n, v in nodes.items()}
    util = {n: u for n, u in util.items() if u is not None}
    if not util:
        return None, None, 0
    top = max(util, key=util.get)
    kind = nodes[top].get("kind")
    alike = sum(1 for n, u in util.items()
                if nodes[n].get("kind") == kind and u >= 0.98 * util[top])
    return top, util[top], alike


def headroom(report: dict, with_bottleneck: bool = True) -> str:
    """'2.66× (2.64–2.67), bottleneck app-1/cpu 37.7% busy'."""
    text = fmt.figure(dig(report, "metrics", "headroom_x"), unit="×").replace(" ×", "×")
    where = bottleneck_text(report) if with_bottleneck else ""
    return f"{text}, bottleneck {where}" if where else text


def bottleneck_text(report: dict) -> str:
    """'app-1/cpu 37.7% busy (3 more app_cpu nodes within 2%)', or '' without nodes."""
    node, util, alike = bottleneck(report)
    if node is None:
        return ""
    kind = dig(report, "nodes", node, "kind", default="")
    twins = f" ({alike - 1} more {kind} node{'s' if alike > 2 else ''} within 2%)" if alike > 1 else ""
    return f"{node} {fmt.pct(util)} busy{twins}"


def redis_memory(report: dict) -> str:
    """'1,696 MB (1,638–1,753), 41.4% of maxmemory 4,096 MB'."""
    fig = dig(report, "metrics", "redis_memory_mb")
    if report.get("scenario") and dig(report, "scenario", "topology", "redis") is None:
        return f"{fmt.DASH} (no Redis)"
    if fmt.mean(fig) is None:
        return fmt.DASH
    text = fmt.figure(fig, unit="MB")
    maxmem = dig(report, "scenario", "topology", "redis", "maxmemory_mb")
    if maxmem:
        share = fmt.mean(fig) / maxmem
        text += f", {fmt.pct(share)} of maxmemory {fmt.count(maxmem)} MB"
        if share > 1:
            text += " (**over maxmemory**: evictions or write errors)"
        elif share > 0.9:
            text += " (**above the 90% RedisHighMemoryUsage alert**)"
    return text


def latency(report: dict, key: str) -> str:
    return fmt.figure(dig(report, "metrics", "latency_ms", key), unit="ms")


def headline(report: dict) -> list[tuple[str, str]]:
    """(label, formatted figure with its 95% CI) in the order of the report's Headline table."""
    m = report.get("metrics") or {}
    rows = [("Throughput", fmt.figure(m.get("throughput_rps"), unit="req/s"))]
    rows += [(f"Latency {label}, end to end", latency(report, key)) for key, label in LATENCY_ROWS]
    rows += [
        ("Latency mean, end to end", latency(report, "mean")),
        ("Error rate", fmt.pct_figure(m.get("error_rate"))),
        ("Failed requests (per replication, measured window)", fmt.figure(m.get("failed_requests"))),
        ("Session writes", fmt.figure(m.get("session_writes_per_s"), unit="writes/s")),
        ("Headroom to saturation", headroom(report)),
        ("Redis memory", redis_memory(report)),
        ("Cost", cost_figure(report)),
    ]
    return rows


def cost_figure(report: dict) -> str:
    fig = dig(report, "metrics", "cost_usd_per_month")
    total = fmt.mean(fig) if fig else dig(report, "cost", "total_usd_per_month")
    return fmt.DASH if total is None else f"{fmt.money(total)} per month"


OBJECTIVES = {  # name -> (label, formatter of a target value)
    "p99_latency_ms": ("p99 latency", lambda v: f"{fmt.count(v)} ms"),
    "error_rate": ("error rate", lambda v: fmt.pct(v, exact=True)),
    "throughput_rps": ("throughput", lambda v: f"{fmt.count(v)} req/s"),
}


def objective_label(key: str) -> str:
    return OBJECTIVES.get(key, (key.replace("_", " "),))[0]


def objective_target(key: str, obj: dict) -> str:
    formatter = OBJECTIVES.get(key, (None, fmt.count))[1]
    op = {"<=": "≤", ">=": "≥"}.get(obj.get("operator"), obj.get("operator") or "")
    return f"{op} {formatter(obj.get('target'))}".strip()


def objective_value(key: str, obj: dict) -> str:
    value = obj.get("value")
    if key == "error_rate":
        return fmt.pct_figure(value)
    unit = {"p99_latency_ms": "ms", "throughput_rps": "req/s"}.get(key, "")
    return fmt.figure(value, unit=unit)


def verdict(obj: dict, markdown: bool = True) -> str:
    v = obj.get("verdict") or fmt.DASH
    return f"**{v}**" if markdown and v in ("missed", "uncertain") else v


def window(report: dict) -> tuple[float | None, float | None]:
    """(duration_s, warmup_s): duration counts the warm-up in."""
    sim = dig(report, "scenario", "simulation", default={})
    return sim.get("duration_s"), sim.get("warmup_s")
