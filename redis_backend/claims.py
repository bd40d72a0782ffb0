"""The document's claims beside the measured value, with a computed verdict.

Claim texts and thresholds live in data/claims/doc-capacity.yaml; this module only knows how to compute
each named metric from a calibration dict.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import yaml

from reporting import fmt

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
    values = [_throughput(cal, name, mode) * entry.get("commands", 1)
              for name, entry in _ops(cal).items() for mode in ("pipelined", "unpipelined")
              if _throughput(cal, name, mode) is not None]
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
    by_c = _pg_op(cal, "session_write_sync").get("unpipelined", {}).get("by_concurrency", {})
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


def verdict(op: str, measured: float | None, claim: dict) -> str:
    if measured is None:
        return "not measured"
    if op == ">=":
        ok = measured >= claim["value"]
    elif op == "<=":
        ok = measured <= claim["value"]
    else:
        low, high = claim["values"]
        ok = low <= measured <= high
    return "holds" if ok else "fails"


def claimed_text(claim: dict) -> str:
    if claim["op"] == "between":
        low, high = claim["values"]
        return f"{low:,}-{high:,} {claim['unit']}"
    return f"{claim['op']} {claim['value']:,} {claim['unit']}"


def evaluate(calibration: dict, path: Path = CLAIMS_FILE) -> list[dict]:
    rows = []
    for name, claim in load_claims(path).items():
        measured = METRICS[claim["metric"]](calibration)
        rows.append({"claim": name, "text": claim["text"], "claimed": claimed_text(claim),
                     "metric": claim["metric"], "unit": claim["unit"],
                     "measured": None if measured is None else round(float(measured), 3),
                     "verdict": verdict(claim["op"], measured, claim)})
    return rows


def to_markdown(rows: list[dict]) -> str:
    return fmt.table(["claim", "document says", "measured", "verdict"],
                     [[r["text"], r["claimed"], None if r["measured"] is None else
                       f"{fmt.num(r['measured'])} {r['unit']}", r["verdict"]] for r in rows],
                     align="llrl") + "\n"
