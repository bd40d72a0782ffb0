"""Orchestrates a calibration run and writes calibration.json + claims.md.

Order: check every target first (reachable, Redis DB empty unless force, PostgreSQL schema
absent unless force, output file absent unless force), then measure, then clean up. Cleanup
(our keys, our schema) also runs on Ctrl-C.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path
from typing import Callable

from . import __version__, claims, keys, measure
from .fit import redis_model
from .keys import KeySpace, refuse_non_empty
from .memory import measure_memory
from .operations import REDIS_OPERATIONS, redis_op, seed_sessions
from .postgres import SCHEMA, SchemaExistsError, drop_schema, measure_postgres, schema_exists
from .target import connect_postgres, connect_redis, mask_url, refuse_existing

FORMAT = "sessionsim-calibration/1"
TOKENS = 1000  # distinct session tokens the load cycles through
OPEN_LOOP_RATES_RPS = (250, 1000)  # open-loop PING probes: a replay predicts at the nearest
OPEN_LOOP_MIN_REQUESTS = 300
OUT_FILE = "calibration.json"
CLAIMS_FILE = "claims.md"


def preflight(redis_url: str, postgres_url: str | None, out_dir: Path, force: bool):
    """Fail fast, before any write: returns the connected Redis client."""
    refuse_existing([Path(out_dir) / OUT_FILE], force)
    client = connect_redis(redis_url)
    refuse_non_empty(client, force, f"Redis database {mask_url(redis_url)}")
    if postgres_url:
        conn = connect_postgres(postgres_url)
        try:
            if schema_exists(conn) and not force:
                raise SchemaExistsError("schema 'sessionsim_calib' already exists in "
                                        f"{mask_url(postgres_url)}; refusing to touch it "
                                        "(use --force to drop and recreate it)")
        finally:
            conn.close()
    return client


def remove_leftovers(redis_url: str, postgres_url: str | None) -> list[str]:
    """`calibrate --cleanup`: what earlier (killed) runs left, removed; one line per thing."""
    client = connect_redis(redis_url)
    try:
        removed = keys.remove_leftovers(client)
    finally:
        client.close()
    lines = [f"deleted {n:,} keys under {prefix} in {mask_url(redis_url)}"
             for prefix, n in removed.items()]
    lines = lines or [f"no sessionsim keys in {mask_url(redis_url)}"]
    if postgres_url:
        conn = connect_postgres(postgres_url)
        try:
            found = schema_exists(conn)
            drop_schema(conn)
        finally:
            conn.close()
        lines.append(f"{'dropped' if found else 'no'} schema {SCHEMA} in {mask_url(postgres_url)}")
    return lines


def run_calibration(redis_url: str, postgres_url: str | None = None,
                    concurrencies: list[int] = (1, 4, 16), duration_s: float = 2.0,
                    force: bool = False, memory_sessions: int = 10_000,
                    out_dir: Path = Path("calibration"),
                    on_step: Callable[[str], None] | None = None) -> dict:
    client = preflight(redis_url, postgres_url, out_dir, force)
    with KeySpace(client, mask_url(redis_url)) as ks:
        redis_part = measure_redis(client, redis_url, ks, sorted(set(concurrencies)),
                                   duration_s, memory_sessions, on_step)
    postgres_part = None
    if postgres_url:
        postgres_part = measure_postgres(postgres_url, sorted(set(concurrencies)),
                                         duration_s, force, on_step=on_step)
    return {"format": FORMAT, "tool_version": __version__,
            "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "host": host_info(), "settings": {"duration_s": duration_s,
                                              "concurrencies": sorted(set(concurrencies))},
            "redis": redis_part, "postgres": postgres_part}


def measure_redis(client, url: str, ks: KeySpace, concurrencies: list[int],
                  duration_s: float, memory_sessions: int, on_step) -> dict:
    def connect():
        return connect_redis(url)

    step = on_step or (lambda name: None)
    step("redis ping")
    rtt = measure.ping_rtt(connect, min(duration_s, 1.0))
    open_loop = {}
    for rate in OPEN_LOOP_RATES_RPS:
        step(f"redis open-loop ping at {rate}/s")
        n = max(OPEN_LOOP_MIN_REQUESTS, int(rate * duration_s))
        open_loop[str(rate)] = measure.open_loop_penalty(connect, rate, n, rtt["mean"] / 1000)
    step("redis memory")
    memory = measure_memory(client, ks, memory_sessions)
    tokens = [f"t{i:05d}" for i in range(TOKENS)]
    seed_sessions(client, ks, tokens)
    operations = {}
    for name, build in REDIS_OPERATIONS.items():
        entry = {"commands": len(build(ks, tokens[0], 0, 0.0))}
        runs = {}
        for mode, pipelined in (("pipelined", True), ("unpipelined", False)):
            by_c = {}
            for c in concurrencies:
                step(f"redis {name} {mode} c={c}")
                cpu0 = measure.redis_cpu_s(client)
                result = measure.run_load(connect, redis_op(name, ks, tokens, pipelined),
                                          c, duration_s)
                result["cpu_s"] = measure.redis_cpu_s(client) - cpu0
                by_c[str(c)] = measure.public(result)
                runs[(mode, c)] = result
            low = runs[(mode, min(concurrencies))]["client_cpu_s"]
            entry[mode] = {"by_concurrency": by_c, "client_cpu_ms": measure.samples_entry(low)}
        entry["service_time_ms"] = service_time_entry(runs, concurrencies, rtt["min"] / 1000)
        operations[name] = entry
    part = {"target": mask_url(url), "server_version": client.info("server")["redis_version"],
            "key_prefix": ks.prefix, "operations": operations, "ping_rtt_ms": rtt,
            "open_loop_penalty_ms": open_loop, "memory": memory}
    part["model"] = redis_model(part, concurrencies)
    return part


def service_time_entry(runs: dict, concurrencies: list[int], rtt_min_s: float) -> dict:
    """Service time of the pipelined form; see measure's docstring for the method."""
    top = runs[("pipelined", max(concurrencies))]
    mean_s, method, utilisation = measure.mean_service_s(top["ops"], top["elapsed_s"],
                                                         top["cpu_s"])
    low = runs[("pipelined", min(concurrencies))]
    return {"mean": round(mean_s * 1000, 5), "method": method,
            "server_cpu_utilisation": round(utilisation, 3),
            "samples": measure.service_time(low["latencies_s"], rtt_min_s, mean_s)}


def host_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"python": platform.python_version(), "cpu": cpu, "cores": os.cpu_count(),
            "platform": platform.platform()}


def write_outputs(calibration: dict, out_dir: Path, force: bool) -> tuple[Path, str]:
    """Write calibration.json and claims.md; return the JSON path and the claims table."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / OUT_FILE
    refuse_existing([path], force)
    path.write_text(json.dumps(calibration, indent=1) + "\n")
    table = claims.to_markdown(claims.evaluate(calibration))
    (out_dir / CLAIMS_FILE).write_text("# The document's claims, measured\n\n"
                                       f"Calibration: {OUT_FILE} ({calibration['measured_at']})"
                                       "\n\n" + table)
    return path, table
