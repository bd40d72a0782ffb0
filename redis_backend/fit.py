"""The simulator's Redis parameters, fitted from a calibration: what a scenario references.

The simulator charges a Redis request `roundtrip_service + commands x command_service` on the
master's single thread (sim/engines/request_path.py). A least-squares line through each operation's
(commands, mean service time) gives the two parameters (clipped at zero: a negative slope or
intercept is noise, not a finding). Their samples keep a measured shape: session_update's
service-time samples rescaled to the fitted round-trip mean. `app_redis_rtt` is the PING's
wire time (its latency minus the client's CPU) less the round trip's service, which the
simulator charges at the server.

Two fits, because Redis's CPU per operation depends on the load (a surprise worth knowing):
- high_concurrency: the service times of the calibration's busiest runs (service_time_ms: one
  event-loop wake-up serves several clients), for capacity: "how many operations per second";
- low_concurrency: the server CPU per operation with one client, one request per wake-up, for
  latency at moderate load (an open-loop replay at a few thousand requests per second).
A scenario writes, e.g.:
  roundtrip_service: {dist: empirical, file: calibration.json,
                      key: redis.model.high_concurrency.roundtrip_service_ms.samples}
"""
from __future__ import annotations

import numpy as np

SHAPE_FROM = "session_update"  # the design's most frequent operation


def _line(commands: np.ndarray, service_ms: np.ndarray) -> tuple[float, float]:
    """(intercept, slope) of service = intercept + slope x commands, both >= 0."""
    if len(set(commands.tolist())) < 2:
        return float(service_ms.mean()), 0.0
    slope, intercept = np.polyfit(commands, service_ms, 1)
    if slope < 0:
        return float(service_ms.mean()), 0.0
    if intercept < 0:
        return 0.0, float((commands * service_ms).sum() / (commands ** 2).sum())
    return float(intercept), float(slope)


def _scaled(samples: list[float], mean_ms: float) -> list[float]:
    x = np.asarray(samples, dtype=float)
    if x.size == 0 or x.mean() <= 0:
        return [round(mean_ms, 6)]
    return [round(v, 6) for v in (x * (mean_ms / x.mean())).tolist()]


def _fit(ops: dict, service_of, wire_ms: np.ndarray, concurrency: int) -> dict:
    names = [n for n, e in ops.items() if service_of(e)]
    commands = np.array([ops[n]["commands"] for n in names], dtype=float)
    service = np.array([service_of(ops[n]) for n in names], dtype=float)
    intercept, slope = _line(commands, service)
    shape = (ops.get(SHAPE_FROM) or ops[names[0]])["service_time_ms"]["samples"]
    rtt = np.maximum(wire_ms - intercept, 0.0)
    return {
        "concurrency": concurrency,
        "roundtrip_service_ms": {"mean": round(intercept, 6), "samples": _scaled(shape, intercept)},
        "command_service_ms": {"mean": round(slope, 6), "samples": [round(slope, 6)]},
        "app_redis_rtt_ms": {"mean": round(float(rtt.mean()), 6) if rtt.size else None,
                             "samples": [round(v, 6) for v in rtt.tolist()]},
        "fit": {n: {"commands": int(c), "measured_ms": round(float(s), 5),
                    "fitted_ms": round(intercept + slope * c, 5),
                    "error_pct": round(100 * (intercept + slope * c - s) / s, 1)}
                for n, c, s in zip(names, commands, service)},
    }


def redis_model(redis_part: dict, concurrencies: list[int]) -> dict:
    """The `redis.model` section of calibration.json."""
    ops = redis_part["operations"]
    wire = np.asarray(redis_part["ping_rtt_ms"]["wire"]["samples"], dtype=float)
    low = str(min(concurrencies))

    def at_low(entry: dict):
        return entry["pipelined"]["by_concurrency"][low].get("server_cpu_per_op_ms")

    return {"high_concurrency": _fit(ops, lambda e: e["service_time_ms"]["mean"], wire,
                                     max(concurrencies)),
            "low_concurrency": _fit(ops, at_low, wire, min(concurrencies)),
            "method": "least squares of per-operation mean service time (pipelined) on "
                      f"commands; samples shaped like {SHAPE_FROM}'s; "
                      "app_redis_rtt = PING wire time - round-trip service"}
