"""Orchestrates a calibration run and writes calibration.json + claims.md.

Order: check every target first (reachable, Redis DB empty unless force, PostgreSQL schema
absent unless force, output file absent unless force), then measure, then clean up. Cleanup
(our keys, our schema) also runs when interrupted (cleanup.py). Load figures are measured in
interleaved rounds (rounds.py), each round preceded by a probe of the host's noise
(host_noise.py); claims are judged on the rounds' interval (claims.py).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

from . import __version__, claims, host_noise, keys, measure, postgres, redis_bench, rounds
from .fit import redis_model
from .keys import KeySpace, refuse_non_empty
from .memory import measure_memory
from .operations import REDIS_OPERATIONS, redis_op, seed_sessions
from .postgres import SCHEMA, SchemaExistsError, drop_schema, schema_exists
from .target import connect_postgres, connect_redis, mask_url, refuse_existing

FORMAT = "sessionsim-calibration/1"
TOKENS = 1000  # distinct session tokens the load cycles through
OPEN_LOOP_RATES_RPS = (250, 1000)  # open-loop PING probes: a replay predicts at the nearest
OPEN_LOOP_MIN_REQUESTS = 300
ROUNDS = 4  # each load figure measured this many times, interleaved (rounds.py)
MIN_ROUND_S = 0.1
OUT_FILE = "calibration.json"
CLAIMS_FILE = "claims.md"


def preflight(redis_url: str, postgres_url: str | None, out_dir: Path, force: bool):
    """Fail fast, before any write: returns the connected Redis client."""
    refuse_existing([Path(out_dir) / OUT_FILE, Path(out_dir) / CLAIMS_FILE], force)
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
                    on_step: Callable[[str], None] | None = None,
                    n_rounds: int = ROUNDS) -> dict:
    """Fixed figures first (PING, open-loop penalty, memory), then every load figure once per
    round, Redis and PostgreSQL alike, with the host's noise probed before each round."""
    client = preflight(redis_url, postgres_url, out_dir, force)
    step = on_step or (lambda name: None)
    concurrencies = sorted(set(concurrencies))
    round_s = max(duration_s / n_rounds, MIN_ROUND_S)
    noise, runs = [], {}
    with KeySpace(client, mask_url(redis_url)) as ks:
        fixed, tokens = measure_fixed(client, redis_url, ks, duration_s, memory_sessions, step)
        with (postgres.Session(postgres_url, force) if postgres_url else nullcontext()) as pg:
            for k in range(n_rounds):
                noise.append(host_noise.probe(f"before round {k + 1}"))
                measure_round(client, redis_url, ks, tokens, concurrencies, round_s, runs,
                              lambda text: step(f"{text} (round {k + 1}/{n_rounds})"))
                if pg is not None:
                    pg.round(concurrencies, round_s,
                             lambda text: step(f"{text} (round {k + 1}/{n_rounds})"))
            noise.append(host_noise.probe("after the last round"))
            postgres_part = pg.summary(concurrencies) if pg is not None else None
    redis_part = summarise_redis(client, redis_url, ks, fixed, runs, concurrencies)
    return {"format": FORMAT, "tool_version": __version__,
            "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "host": host_info(), "host_noise": noise,
            "settings": {"duration_s": duration_s, "rounds": n_rounds,
                         "seconds_per_round": round_s, "concurrencies": concurrencies},
            "redis": redis_part, "postgres": postgres_part}


def measure_fixed(client, url: str, ks: KeySpace, duration_s: float, memory_sessions: int,
                  step) -> tuple[dict, list[str]]:
    """The figures measured once: PING round trips, the open-loop penalty, memory."""
    def connect():
        return connect_redis(url)

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
    return {"ping_rtt_ms": rtt, "open_loop_penalty_ms": open_loop, "memory": memory}, tokens


def measure_round(client, url: str, ks: KeySpace, tokens: list[str], concurrencies: list[int],
                  round_s: float, runs: dict, step) -> None:
    """Each operation, pipelined and not, at each concurrency: once, appended to runs."""
    for name in REDIS_OPERATIONS:
        for mode, pipelined in (("pipelined", True), ("unpipelined", False)):
            for c in concurrencies:
                step(f"redis {name} {mode} c={c}")
                cpu0 = measure.redis_cpu_s(client)
                result = measure.run_load(lambda: connect_redis(url),
                                          redis_op(name, ks, tokens, pipelined), c, round_s)
                result["cpu_s"] = measure.redis_cpu_s(client) - cpu0
                runs.setdefault((name, mode, c), []).append(result)
    step("redis capacity: HSET from a client that saturates the server")
    runs.setdefault(("capacity",), []).append(
        redis_bench.commands_per_s(client, url, ks, round_s))


def summarise_redis(client, url: str, ks: KeySpace, fixed: dict, runs: dict,
                    concurrencies: list[int]) -> dict:
    operations = {}
    for name, build in REDIS_OPERATIONS.items():
        entry = {"commands": len(build(ks, "t", 0, 0.0))}
        for mode in ("pipelined", "unpipelined"):
            by_c = {}
            for c in concurrencies:
                by_c[str(c)] = measure.public(rounds.pooled(runs[(name, mode, c)]))
                by_c[str(c)]["rounds"] = rounds.per_round(runs[(name, mode, c)])
            low = rounds.pooled(runs[(name, mode, min(concurrencies))])["client_cpu_s"]
            entry[mode] = {"by_concurrency": by_c, "client_cpu_ms": measure.samples_entry(low)}
        entry["service_time_ms"], entry["rounds"] = service_time_entry(
            {key[1:]: value for key, value in runs.items() if key[0] == name},
            concurrencies, fixed["ping_rtt_ms"]["min"] / 1000)
        operations[name] = entry
    bench = rounds.interval([rate for rate, _ in runs[("capacity",)]], 1)
    part = {"target": mask_url(url), "server_version": client.info("server")["redis_version"],
            "key_prefix": ks.prefix, "operations": operations, **fixed,
            "capacity": {"command": "HSET", "pipeline": redis_bench.PIPELINE,
                         "measured_by": sorted({by for _, by in runs[("capacity",)]}),
                         "redis_benchmark_not_used": redis_bench.unavailable_because(url),
                         "commands_s": bench["mean"], "rounds": {"commands_s": bench}}}
    part["model"] = redis_model(part, concurrencies)
    fit_intervals(part, concurrencies, len(runs[("capacity",)]))
    return part


def fit_intervals(part: dict, concurrencies: list[int], n_rounds: int) -> None:
    """The fitted parameters, fitted again on each round alone: their interval (`rounds`)."""
    views = [rounds.round_view({"redis": part}, k)["redis"] for k in range(n_rounds)]
    fits = [redis_model(view, concurrencies) for view in views]
    for fit in ("high_concurrency", "low_concurrency"):
        for key in ("roundtrip_service_ms", "command_service_ms"):
            part["model"][fit][key]["rounds"] = rounds.interval(
                [f[fit][key]["mean"] for f in fits], 6)


def service_time_entry(runs: dict, concurrencies: list[int], rtt_min_s: float) -> tuple:
    """Service time of the pipelined form (see measure's docstring for the method), pooled and
    round by round: (the entry, its rounds)."""
    top = runs[("pipelined", max(concurrencies))]
    per_round = [measure.mean_service_s(r["ops"], r["elapsed_s"], r["cpu_s"]) for r in top]
    pooled = rounds.pooled(top)
    mean_s, method, utilisation = measure.mean_service_s(pooled["ops"], pooled["elapsed_s"],
                                                         pooled["cpu_s"])
    low = rounds.pooled(runs[("pipelined", min(concurrencies))])
    return ({"mean": round(mean_s * 1000, 5), "method": method,
             "server_cpu_utilisation": round(utilisation, 3),
             "samples": measure.service_time(low["latencies_s"], rtt_min_s, mean_s)},
            {"service_time_ms": rounds.interval([m * 1000 for m, _, _ in per_round], 5)})


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
    refuse_existing([path, out_dir / CLAIMS_FILE], force)
    path.write_text(json.dumps(calibration, indent=1) + "\n")
    table = claims.to_markdown(claims.evaluate(calibration))
    (out_dir / CLAIMS_FILE).write_text("# The document's claims, measured\n\n"
                                       f"Calibration: {OUT_FILE} ({calibration['measured_at']})"
                                       "\n\n" + table)
    return path, table
