"""The simulator's prediction for a replay, from a calibration file, and its gap to the measurement.

The replay's system, in the simulator's terms (every figure from calibration.json, by key):
- the client threads are one app server's workers; its CPU is the Python client's, one core
  (the GIL serialises the client's Python work): each operation's `cpu` is the client CPU the
  calibration measured for it (redis.operations.<op>.<pipelined|unpipelined>.client_cpu_ms);
- the open-loop penalty: what a PING sent at Poisson times costs beyond a closed-loop one on
  this host (waking a sleeping client and server; measure.open_loop_penalty), charged as the
  balancer -> app round trip (the replay has no balancer). It is the state of the host, not a
  cost of the system under test, and drifts minute to minute on a shared VM (0.2-1 ms here),
  so the replay re-measures it at its own rate just before it starts (`penalty`); without
  that, the calibration's probe at the nearest rate (redis.open_loop_penalty_ms.<rate>);
- app -> Redis round trip and Redis service: redis.model.low_concurrency (a replay at a few
  thousand requests per second wakes Redis once per request, as the one-client runs did);
- no PostgreSQL (the replay sends only the Redis half of each operation).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from reporting import fmt
from sim.study import runner
from sim.engines.results import plain
from sim.model.schema import Scenario
from sim.model.errors import UserError
from sim.engines.streams import empirical_samples

from . import rounds
from .operations import REPLAY_OPERATIONS
from .target import BackendError

FORMAT = "sessionsim-calibration/1"
ZERO = {"dist": "deterministic", "mean_ms": 0}
CPU_PROXY = {"checkout": "cart_update"}  # not calibrated alone: the closest multi-command write
COMMAND_TIMEOUT_S = 5.0
FIT = "low_concurrency"  # the replay client's socket timeout (target.COMMAND_TIMEOUT_S)


def load_calibration(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot read calibration file {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not data.get("redis"):
        raise BackendError(f"{path}: not a calibration file; expected format {FORMAT!r} with a "
                           "redis section (python simulate.py calibrate writes one)")
    return data


def _empirical(path: Path, key: str) -> dict:
    try:
        empirical_samples(str(path), key)
    except UserError as exc:
        raise BackendError(f"{path} has no samples at {key} ({exc}); "
                           "re-run python simulate.py calibrate with this version") from None
    return {"dist": "empirical", "file": str(path), "key": key}


def _operations(base: Scenario, calibration: Path) -> dict:
    ops = {}
    for name, share in base.workload.mix.items():
        if share <= 0:
            continue
        if name not in REPLAY_OPERATIONS:
            raise BackendError(f"operation {name!r} of scenario {base.name!r} has no Redis "
                               f"command list to replay; expected names from "
                               f"{sorted(REPLAY_OPERATIONS)}")
        op = base.workload.operations[name]
        mode = "pipelined" if op.pipelined else "unpipelined"
        cal_op = CPU_PROXY.get(name, name)
        commands = len(REPLAY_OPERATIONS[name](_NoKeys(), "t", 0, 0.0))
        ops[name] = {"cpu": _empirical(calibration, f"redis.operations.{cal_op}.{mode}"
                                                    ".client_cpu_ms.samples"),
                     "session_commands": commands, "pipelined": op.pipelined,
                     "session_write": op.session_write, "db_reads": 0, "db_writes": 0}
    return ops


def penalty_key(calibration: Path, rate_rps: float) -> str:
    """The open-loop penalty measured at the rate nearest (by ratio) to rate_rps."""
    probes = (load_calibration(calibration)["redis"].get("open_loop_penalty_ms") or {})
    if not probes:
        raise BackendError(f"{calibration} has no redis.open_loop_penalty_ms; "
                           "re-run python simulate.py calibrate with this version")
    nearest = min(probes, key=lambda r: abs(math.log(float(r) / rate_rps)))
    return f"redis.open_loop_penalty_ms.{nearest}.samples"


class _NoKeys:
    """Stands in for a KeySpace when only the length of a command list is wanted."""
    def key(self, *parts) -> str:
        return ":".join(map(str, parts))


def replay_scenario(base: Scenario, calibration: Path, rate_rps: float, duration_s: float,
                    warmup_s: float, clients: int, seed: int, replications: int,
                    penalty: tuple[Path, str] | None = None) -> Scenario:
    """The replay's system as a scenario; `penalty`: (file, key) of open-loop penalty samples."""
    calibration = Path(calibration).resolve()
    model = f"redis.model.{FIT}."
    penalty_file, key = penalty or (calibration, penalty_key(calibration, rate_rps))
    return validated_scenario({
        "name": f"replay-of-{base.name}", "architecture": "redis_single",
        "description": "the replay's client and Redis, parameters from " + calibration.name,
        "workload": {"arrivals": {"kind": "constant", "rate_rps": rate_rps},
                     "mix": {n: f for n, f in base.workload.mix.items() if f > 0},
                     "operations": _operations(base, calibration)},
        "topology": {
            "load_balancers": {"count": 1, "maxconn": 1_000_000, "service": ZERO,
                               "timeout_queue_s": duration_s + 60},
            "app_servers": {"count": 1, "min_count": 1, "cores": 1, "workers": clients,
                            "max_queue": 1_000_000},
            "redis": {"replicas": 0, "sentinels": 0, "socket_timeout_s": COMMAND_TIMEOUT_S,
                      "roundtrip_service": _empirical(calibration,
                                                      model + "roundtrip_service_ms.samples"),
                      "command_service": _empirical(calibration,
                                                    model + "command_service_ms.samples")},
            "network": {"lb_app_rtt": _empirical(Path(penalty_file).resolve(), key),
                        "app_db_rtt": ZERO,
                        "app_redis_rtt": _empirical(calibration, model + "app_redis_rtt_ms.samples")},
        },
        "simulation": {"duration_s": duration_s, "warmup_s": warmup_s,
                       "replications": replications, "seed": seed},
    })


def validated_scenario(data: dict) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BackendError(f"the settings give an invalid scenario: "
                           f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def predict(scenario: Scenario) -> dict:
    """The simulator's figures for the replay scenario (means over its replications)."""
    report = runner.run(scenario)
    m = report.metrics
    redis = next(n for n in report.nodes.values() if n.kind == "redis")
    return {"throughput_rps": m.throughput_rps["mean"],
            "latency_ms": {k: v["mean"] for k, v in plain(m.latency_ms).items()},
            "latency_ms_by_operation": {op: {k: v["mean"] for k, v in plain(q).items()}
                                        for op, q in m.latency_ms_by_operation.items()},
            "redis_utilisation": redis.utilisation["mean"],
            "error_rate": m.error_rate["mean"],
            "replications": report.replications, "seed": report.seed}


ROWS = [("throughput (req/s)", ("throughput_rps",)),
        ("latency mean (ms)", ("latency_ms", "mean")), ("latency p50 (ms)", ("latency_ms", "p50")),
        ("latency p95 (ms)", ("latency_ms", "p95")), ("latency p99 (ms)", ("latency_ms", "p99")),
        ("Redis utilisation", ("redis_utilisation",))]


def comparison(runs: list[dict], predicted: dict) -> list[dict]:
    """Predicted beside measured over the valid repetitions: the measured mean, each
    repetition's gap = (measured - predicted) / predicted, and the gap's 95% interval. A
    repetition whose client fell behind or whose host stalled (replay.summarise) is left out;
    with none left, nothing is compared."""
    valid = [r for r in runs if r.get("valid", True)]
    rows = []
    for label, path in ROWS:
        p = _at(predicted, path)
        values = [v for v in (_at(r, path) for r in valid) if v is not None]
        gaps = [100 * (v - p) / p for v in values] if p else []
        gap = rounds.interval(gaps, 1, floor=None) if gaps else None
        rows.append({"figure": label, "key": ".".join(path), "predicted": p,
                     "measured": round(float(np.mean(values)), 4) if values else None,
                     "measured_values": values,
                     "gap_pct": None if gap is None else gap["mean"],
                     "gap_pct_ci95": None if gap is None else gap["ci95"],
                     "repetitions_compared": len(values)})
    return rows


def _at(figures: dict, path: tuple):
    for part in path:
        figures = (figures or {}).get(part)
    return figures


def to_markdown(rows: list[dict]) -> str:
    def gap(r) -> str | None:
        if r["gap_pct"] is None:
            return None
        ci = r["gap_pct_ci95"]
        return f"{r['gap_pct']:+.1f}%" + ("" if ci is None else f" [{ci[0]:+.0f}, {ci[1]:+.0f}]")

    return fmt.table(["figure", "predicted", "measured", "gap [95%]"],
                     [[r["figure"], fmt.num(r["predicted"]), fmt.num(r["measured"]), gap(r)]
                      for r in rows]) + "\n"
