"""The document's claims beside the measured value, with a computed verdict.

Claim texts and thresholds live in data/claims/doc-capacity.yaml; this module only knows how to compute
each named metric from a calibration dict.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import yaml

from reporting import fmt

from . import host_noise, rounds

CLAIMS_FILE = Path(__file__).resolve().parents[1] / "data" / "claims" / "doc-capacity.yaml"
OPS = (">=", "<=", "between")


def _ops(cal: dict) -> dict:
    return (cal.get("redis") or {}).get("operations", {})


def _by_c(cal: dict, op: str, mode: str) -> dict:
    return _ops(cal).get(op, {}).get(mode, {}).get("by_concurrency", {})


def _throughput(cal: dict, op: str, mode: str, c: int | None = None) -> float | None:
    by_c = _by_c(cal, op, mode)
    if c is not None:
        return by_c.get(str(c), {}).get("throughput_ops_s")
    values = [v["throughput_ops_s"] for v in by_c.values()]
    return max(values) if values else None


def redis_max_commands_s(cal: dict) -> float | None:
    """The most commands/s measured: by a client that saturates the server (redis_bench)."""
    values = [_throughput(cal, name, mode) * entry.get("commands", 1)
              for name, entry in _ops(cal).items() for mode in ("pipelined", "unpipelined")
              if _throughput(cal, name, mode) is not None]
    bench = ((cal.get("redis") or {}).get("capacity") or {}).get("commands_s")
    values += [bench] if bench else []
    return max(values) if values else None


def redis_capacity_commands_s(cal: dict) -> float | None:
    values = [entry.get("commands", 1) * 1000.0 / entry["service_time_ms"]["mean"]
              for entry in _ops(cal).values()
              if (entry.get("service_time_ms") or {}).get("mean")]
    return max(values) if values else None


def item_view_max_ops_s(cal: dict) -> float | None:
    values = [v for v in (_throughput(cal, "item_view", m) for m in ("pipelined", "unpipelined"))
              if v is not None]
    return max(values) if values else None


def item_view_capacity_ops_s(cal: dict) -> float | None:
    mean_ms = (_ops(cal).get("item_view", {}).get("service_time_ms") or {}).get("mean")
    return 1000.0 / mean_ms if mean_ms else None


def _session_update_p99(cal: dict, pick: Callable) -> float | None:
    by_c = _by_c(cal, "session_update", "pipelined")
    if not by_c:
        return None
    return by_c[str(pick(int(c) for c in by_c))]["latency_ms"]["p99"]


def _pg_op(cal: dict, name: str) -> dict:
    return ((cal.get("postgres") or {}).get("operations") or {}).get(name, {})


def db_sync_max_writes_s(cal: dict) -> float | None:
    """The server's capacity (pgbench's when it measured more), else the best concurrency."""
    op = _pg_op(cal, "session_write_sync")
    if op.get("saturation_throughput_ops_s"):
        return op["saturation_throughput_ops_s"]
    by_c = op.get("unpipelined", {}).get("by_concurrency", {})
    return max((v["throughput_ops_s"] for v in by_c.values()), default=None)


def db_sync_write_ms_c1(cal: dict) -> float | None:
    by_c = _pg_op(cal, "session_write_sync").get("unpipelined", {}).get("by_concurrency", {})
    return by_c.get("1", {}).get("latency_ms", {}).get("mean")


def pipelining_speedup_c1(cal: dict) -> float | None:
    piped = _throughput(cal, "session_update", "pipelined", 1)
    single = _throughput(cal, "session_update", "unpipelined", 1)
    return piped / single if piped and single else None


METRICS: dict[str, Callable[[dict], float | None]] = {
    "redis_max_commands_s": redis_max_commands_s,
    "redis_capacity_commands_s": redis_capacity_commands_s,
    "item_view_max_ops_s": item_view_max_ops_s,
    "item_view_capacity_ops_s": item_view_capacity_ops_s,
    "session_update_p99_ms_lowest_concurrency": lambda cal: _session_update_p99(cal, min),
    "session_update_p99_ms_highest_concurrency": lambda cal: _session_update_p99(cal, max),
    "db_sync_max_writes_s": db_sync_max_writes_s,
    "db_sync_write_ms_c1": db_sync_write_ms_c1,
    "bytes_per_session": lambda cal: ((cal.get("redis") or {}).get("memory") or {})
    .get("bytes_per_session"),
    "db_bytes_per_row": lambda cal: (cal.get("postgres") or {}).get("bytes_per_row"),
    "pipelining_speedup_c1": pipelining_speedup_c1,
}


def load_claims(path: Path = CLAIMS_FILE) -> dict:
    claims = yaml.safe_load(Path(path).read_text())
    for name, claim in claims.items():
        if claim.get("metric") not in METRICS or claim.get("op") not in OPS:
            raise ValueError(f"{path}: claim {name!r} has unknown metric {claim.get('metric')!r}"
                             f" or op {claim.get('op')!r}; expected one of "
                             f"{sorted(METRICS)} and {OPS}")
    return claims


def _satisfies(op: str, x: float, claim: dict) -> bool:
    if op == ">=":
        return x >= claim["value"]
    if op == "<=":
        return x <= claim["value"]
    low, high = claim["values"]
    return low <= x <= high


def verdict(op: str, measured: dict | None, claim: dict) -> str:
    """measured: rounds.interval of the metric. "holds" when the whole 95% interval meets the
    claim, "fails" when none of it does, "uncertain" otherwise (the host's noise named)."""
    if measured is None or measured["mean"] is None:
        return "not measured"
    lo, hi = measured["ci95"] or (measured["mean"], measured["mean"])
    if op == "between":  # the interval meets none of it when it lies wholly outside
        low, high = claim["values"]
        ok_all, ok_none = low <= lo and hi <= high, hi < low or lo > high
    else:
        ok_all = _satisfies(op, lo, claim) and _satisfies(op, hi, claim)
        ok_none = not _satisfies(op, lo, claim) and not _satisfies(op, hi, claim)
    if ok_all:
        return "holds"
    if ok_none:
        return "fails"
    return "uncertain"


def metric_interval(calibration: dict, metric: str) -> dict:
    """The metric in every round (rounds.round_view), as an interval."""
    n = rounds.count(calibration)
    views = [rounds.round_view(calibration, k) for k in range(n)] if n > 1 else [calibration]
    return rounds.interval([METRICS[metric](view) for view in views], 3)


def claimed_text(claim: dict) -> str:
    if claim["op"] == "between":
        low, high = claim["values"]
        return f"{low:,}-{high:,} {claim['unit']}"
    return f"{claim['op']} {claim['value']:,} {claim['unit']}"


def evaluate(calibration: dict, path: Path = CLAIMS_FILE) -> list[dict]:
    noise = host_noise.describe(calibration["host_noise"]) if calibration.get("host_noise") else ""
    rows = []
    for name, claim in load_claims(path).items():
        measured = metric_interval(calibration, claim["metric"])
        rows.append({"claim": name, "text": claim["text"], "claimed": claimed_text(claim),
                     "metric": claim["metric"], "unit": claim["unit"],
                     "measured": measured["mean"], "ci95": measured["ci95"],
                     "rounds": measured["values"],
                     "verdict": verdict(claim["op"], measured, claim)})
        if rows[-1]["verdict"] == "uncertain":
            rows[-1]["noise"] = noise or "no host noise recorded"
    return rows


def _measured_text(r: dict) -> str | None:
    if r["measured"] is None:
        return None
    ci = r.get("ci95")
    if ci and ci[0] != ci[1]:
        return f"{fmt.num(r['measured'])} [{fmt.num(ci[0])}, {fmt.num(ci[1])}] {r['unit']}"
    return f"{fmt.num(r['measured'])} {r['unit']}"


def to_markdown(rows: list[dict]) -> str:
    """The table; under it, when a verdict is uncertain, the host's noise that widened it."""
    table = fmt.table(["claim", "document says", "measured [95% interval]", "verdict"],
                      [[r["text"], r["claimed"], _measured_text(r),
                        "uncertain (noise below)" if r.get("noise") else r["verdict"]]
                       for r in rows], align="llrl") + "\n"
    noise = next((r["noise"] for r in rows if r.get("noise")), None)
    return table + (f"\nUncertain: the interval over the rounds straddles the claim; {noise}.\n"
                    if noise else "")
