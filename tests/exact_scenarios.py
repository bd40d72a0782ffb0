"""Small random scenarios for tests/test_exact_bulk.py: every time random (any kind of
distribution the schema has), random operations, topology sizes, mechanisms and failures, nearly
all of them eligible for the calm path (sim.engines.fast.build.bulk_settings) and loaded enough that
calm stretches run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from sim.model.schema import Scenario

# typical means (ms) of each kind of time: the scale each drawn distribution is built around
SCALE_MS = {"lb": 0.05, "net": 0.2, "redis_rt": 0.008, "redis_cmd": 0.002, "cache_get": 0.01}
KINDS = ("deterministic", "exponential", "lognormal", "gamma", "empirical")
FAILURE_KINDS = ("crash", "hang", "partition", "slow")
# each keeps requests off the calm path (sim.engines.fast.build.bulk_settings)
OFF_CALM = ("leastconn", "wait", "synchronous", "unpipelined", "two_db_calls")


class SampleFiles:
    """Files of samples in ms for `empirical`, one per mean, written when first asked for;
    rounded to the microsecond, so that equal values (ties) come up often."""

    def __init__(self, directory: Path):
        self.directory = directory

    def __call__(self, mean_ms: float) -> str:
        file = self.directory / f"{mean_ms:.9g}.txt"
        if not file.exists():
            rng = np.random.default_rng(17)
            file.write_text("\n".join(f"{v:.3f}" for v in rng.exponential(mean_ms, 40)) + "\n")
        return str(file)


@st.composite
def dists(draw, scale_ms: float, files: SampleFiles) -> dict:
    """Any distribution of the schema around a scale, fixed ones among them (a fixed time never
    moves its pool's cursor: the calm path must skip the samples of the others)."""
    kind = draw(st.sampled_from(KINDS))
    if kind == "empirical":
        return {"dist": kind, "file": files(scale_ms)}
    mean_ms = scale_ms * draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]) if kind == "deterministic"
                              else st.sampled_from([0.5, 1.0, 2.0]))
    if kind in ("lognormal", "gamma"):
        return {"dist": kind, "mean_ms": mean_ms, "cv": draw(st.sampled_from([0.3, 1.0, 2.5]))}
    return {"dist": kind, "mean_ms": mean_ms}


@st.composite
def operation(draw, files: SampleFiles, cpu_ms: float) -> dict:
    commands = draw(st.integers(0, 5))
    db = draw(st.sampled_from(["none", "none", "read", "write"]))
    return {"cpu": draw(dists(cpu_ms, files)), "session_commands": commands,
            # unpipelined: one round trip per command, on the calm path only for one command
            "pipelined": commands > 1 or draw(st.booleans()), "session_write": draw(st.booleans()),
            "db_reads": int(db == "read"), "db_writes": int(db == "write")}


def busy_ms(draw, servers: int, rate: float) -> float:
    """A mean service time that keeps `servers` busy a share of the time at `rate` requests a
    second: low enough for calm stretches (nothing waits for a worker), now and then not."""
    return draw(st.sampled_from([0.1, 0.25, 0.4, 0.9])) * servers * 1000 / rate


@st.composite
def workload(draw, files: SampleFiles, rate: float, cores: int) -> dict:
    """Operations in a random mix, their CPU times such that the app servers' `cores` are busy
    a share of the time."""
    cpu_ms = busy_ms(draw, cores, rate)
    n = draw(st.integers(1, 3))
    operations = {f"op{i}": draw(operation(files, cpu_ms)) for i in range(n)}
    weights = [draw(st.integers(1, 4)) for _ in range(n)]
    mix = {name: w / sum(weights) for name, w in zip(operations, weights)}
    mix[f"op{n - 1}"] = 1 - sum(list(mix.values())[:-1])
    arrivals = {"kind": "constant", "rate_rps": rate}
    if draw(st.booleans()):
        arrivals = {"kind": "piecewise", "points": [{"at_s": 0, "rate_rps": rate},
                                                    {"at_s": 4, "rate_rps": rate / 2}]}
    return {"arrivals": arrivals, "mix": mix, "operations": operations}


@st.composite
def topology(draw, architecture: str, files: SampleFiles, rate: float) -> dict:
    cores, apps = draw(st.integers(2, 4)), draw(st.integers(1, 4))
    connections = draw(st.sampled_from([2, 8, 20]))
    replicas = 0 if architecture == "redis_single" else draw(st.integers(1, 3))
    pg_replicas = draw(st.integers(0, 2))
    return {
        "load_balancers": {"count": draw(st.integers(1, 2)),
                           "maxconn": draw(st.sampled_from([64, 4096, 4096])),
                           "service": draw(dists(SCALE_MS["lb"], files))},
        "app_servers": {"count": apps, "min_count": 1, "cores": cores,
                        "workers": draw(st.sampled_from([8 * cores, 64, 8 * cores, 64, cores + 1]))},
        "redis": {"replicas": replicas, "sentinels": 0 if architecture == "redis_single" else 3,
                  "roundtrip_service": draw(dists(SCALE_MS["redis_rt"], files)),
                  "command_service": draw(dists(SCALE_MS["redis_cmd"], files)),
                  "socket_timeout_s": draw(st.sampled_from([0.1, 0.1, 0.1, 0.01])),
                  "replication_tick_s": draw(st.sampled_from([0.001, 0.0005, 0.004]))},
        "postgres": {"replicas": pg_replicas, "read_replicas": draw(st.integers(0, pg_replicas)),
                     "connections": connections, "pool_timeout_s": draw(st.sampled_from([30, 30, 0.05])),
                     "write_service": draw(dists(busy_ms(draw, connections, rate), files)),
                     "read_service": draw(dists(busy_ms(draw, connections, rate), files))},
        "network": {k: draw(dists(SCALE_MS["net"], files))
                    for k in ("lb_app_rtt", "app_redis_rtt", "app_db_rtt", "app_memcached_rtt")},
        "memcached": draw(st.sampled_from([None, None]) | memcached(files))}


@st.composite
def memcached(draw, files: SampleFiles) -> dict:
    """The application cache in front of reads, now and then with a client timeout it misses."""
    return {"nodes": draw(st.integers(1, 2)), "hit_ratio": draw(st.sampled_from([0.0, 0.5, 0.9, 1.0])),
            "threads": draw(st.integers(1, 4)), "get_service": draw(dists(SCALE_MS["cache_get"], files)),
            "timeout_s": draw(st.sampled_from([0.05, 0.05, 0.0003]))}


def components(topology: dict) -> list[str]:
    """What can fail (Scenario.components without building one first)."""
    counts = {"lb": topology["load_balancers"]["count"], "app": topology["app_servers"]["count"],
              "redis": 1 + topology["redis"]["replicas"], "pg": 1 + topology["postgres"]["replicas"],
              "memcached": topology["memcached"]["nodes"] if topology["memcached"] else 0}
    return (["lb_active", "app_server", "redis_master", "redis_all", "pg_primary", "all"]
            + [f"{kind}-{i + 1}" for kind, n in counts.items() for i in range(n)])


@st.composite
def failures(draw, topology: dict, duration_s: float) -> list[dict]:
    out = []
    for i in range(draw(st.sampled_from([0, 1, 1, 2]))):
        out.append({"name": f"f{i}", "component": draw(st.sampled_from(components(topology))),
                    "kind": draw(st.sampled_from(FAILURE_KINDS)),
                    "at_s": draw(st.sampled_from([0.3, 0.5, 0.75])) * duration_s,
                    "repair_after_s": draw(st.sampled_from([None, 0.3, 1.0])),
                    "slow_factor": draw(st.sampled_from([1.0, 0.5, 3.0]))})
    return out


@st.composite
def mechanisms(draw, replicas: int) -> tuple[dict, str | None]:
    """Quick detection, so that failovers happen inside a short run; now and then a setting that
    keeps every request off the calm path (which must then change nothing either)."""
    off_calm = draw(st.sampled_from([None] * 40 + list(OFF_CALM)))
    return {"health_check": {"inter_s": draw(st.sampled_from([0.5, 2.0])),
                             "redispatch": draw(st.booleans())},
            "sentinel": {"down_after_ms": draw(st.sampled_from([300, 5000]))},
            "replication": {"min_replicas_to_write": draw(st.integers(0, replicas)),
                            "wait_replicas": int(off_calm == "wait" and replicas > 0)},
            "circuit_breaker": {"enabled": draw(st.booleans()),
                                "failure_threshold": draw(st.sampled_from([1, 20])),
                                "reset_timeout_s": draw(st.sampled_from([0.5, 10.0]))},
            "pg_failover": {"health_check_period_s": draw(st.sampled_from([1.0, 30.0])),
                            "synchronous": off_calm == "synchronous"}}, off_calm


@st.composite
def scenarios(draw, files: SampleFiles) -> Scenario:
    architecture = draw(st.sampled_from(["redis_single", "redis_ha"]))
    duration_s = draw(st.sampled_from([3.0, 5.0]))
    rate = draw(st.sampled_from([1500, 3000, 5000]))
    t = draw(topology(architecture, files, rate))
    mech, off_calm = draw(mechanisms(t["redis"]["replicas"]))
    apps = t["app_servers"]
    load = draw(workload(files, rate, apps["count"] * apps["cores"]))
    if off_calm == "leastconn":
        t["load_balancers"]["balance"] = "leastconn"
    elif off_calm == "unpipelined":
        load["operations"]["op0"].update(session_commands=2, pipelined=False)
    elif off_calm == "two_db_calls":
        load["operations"]["op0"].update(db_reads=1, db_writes=1)
    return Scenario.model_validate({
        "name": "exact", "architecture": architecture, "workload": load,
        "topology": t, "mechanisms": mech, "failures": draw(failures(t, duration_s)),
        "cost": {"overrides_usd_per_month": {"memcached": 25}},
        "simulation": {"duration_s": duration_s, "warmup_s": draw(st.sampled_from([0.0, 0.5])),
                       "replications": 1, "seed": draw(st.integers(0, 2 ** 32))}})
