"""Scenarios built in code for the tests: one tier made an exact textbook queue."""
from __future__ import annotations

import json
import textwrap
from dataclasses import fields, is_dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from sim.study.report import Report
from sim.model.schema import Scenario

SAMPLE_REPORT = Path(__file__).parent / "data" / "sample-report.json"  # peak.yaml, 8 s, 5 replications
SAMPLE_MATRIX = Path(__file__).parent / "data" / "sample-matrix-report.json"  # 2 failures, 40 s
TINY = textwrap.dedent("""\
    name: tiny
    architecture: redis_ha
    workload:
      arrivals:
        kind: constant
        rate_rps: 100
    """)  # the smallest valid scenario file


def sample_report(path: Path = SAMPLE_REPORT) -> Report:
    """A report.json written by tests/data/make_samples.py, read back (every field checked)."""
    return Report.from_dict(json.loads(path.read_text()))


def renamed(report: Report, name: str) -> Report:
    return replace(report, scenario=report.scenario.model_copy(update={"name": name}))

ZERO = {"dist": "deterministic", "mean_ms": 0}


def fixed(ms: float) -> dict:
    return {"dist": "deterministic", "mean_ms": ms}


def tiny(engine: str) -> Scenario:
    """One balancer, one app server of 1 core and 2 workers, one Redis; every time deterministic.
    A harmless 'slow x1' failure turns on the recording of every completion's latency."""
    return Scenario.model_validate({
        "name": "tiny", "architecture": "redis_single",
        "workload": {"arrivals": {"kind": "constant", "rate_rps": 1}, "mix": {"session_update": 1.0},
                     "operations": {"session_update": {"cpu": fixed(1.0)}}},
        "topology": {"load_balancers": {"count": 1, "service": fixed(0.05)},
                     "app_servers": {"count": 1, "min_count": 1, "cores": 1, "workers": 2},
                     "redis": {"replicas": 0, "sentinels": 0, "roundtrip_service": fixed(0.008),
                               "command_service": fixed(0.002)},
                     "network": {"lb_app_rtt": fixed(0.2), "app_redis_rtt": fixed(0.2),
                                 "app_db_rtt": fixed(0.2)}},
        "failures": [{"name": "trace", "component": "app-1", "kind": "slow", "slow_factor": 1.0,
                      "at_s": 0.05}],
        "simulation": {"duration_s": 1, "warmup_s": 0, "replications": 1, "engine": engine}})


def at_times(monkeypatch, *times_s: float):
    """The arrivals are these, whatever the rate."""
    import sim.model.workload

    def given(curve, rng, t0, t1):
        times = np.array(times_s)
        return times[(times >= t0) & (times < t1)]
    monkeypatch.setattr(sim.model.workload, "arrival_times", given)


def exp(mean_ms: float) -> dict:
    return {"dist": "exponential", "mean_ms": mean_ms}


ENGINES = ("reference", "fast")


def queue_scenario(rate_rps: float, cpu: dict, cores: int, workers: int, redis: dict | None = None,
                   duration_s: float = 400, warmup_s: float = 20, replications: int = 8,
                   seed: int = 7, engine: str = "fast") -> Scenario:
    """Poisson arrivals through a load balancer and network that take no time, one app server
    whose cores serve `cpu`, then (if `redis` is given) one Redis round trip of `redis` service."""
    return Scenario.model_validate({
        "name": "theory",
        "architecture": "redis_single",
        "workload": {
            "arrivals": {"kind": "constant", "rate_rps": rate_rps},
            "mix": {"page": 1.0},
            "operations": {"page": {"cpu": cpu, "session_commands": 1 if redis else 0}},
        },
        "topology": {
            "load_balancers": {"count": 1, "maxconn": 1_000_000, "service": ZERO},
            "app_servers": {"count": 1, "min_count": 1, "cores": cores, "workers": workers,
                            "max_queue": 1_000_000},
            "redis": {"replicas": 0, "sentinels": 0, "socket_timeout_s": 1e6,
                      "roundtrip_service": redis or ZERO, "command_service": ZERO},
            "network": {"lb_app_rtt": ZERO, "app_redis_rtt": ZERO, "app_db_rtt": ZERO},
        },
        "simulation": {"duration_s": duration_s, "warmup_s": warmup_s,
                       "replications": replications, "seed": seed, "engine": engine},
    })


def shortened(name: str, duration_s: float = 6, warmup_s: float = 2, replications: int = 2, **simulation):
    """A shipped scenario with a shorter run (and any other simulation settings)."""
    from sim.model.scenario import load
    scenario = load(f"scenarios/{name}.yaml")
    data = scenario.model_dump()
    data["simulation"].update(duration_s=duration_s, warmup_s=warmup_s, replications=replications,
                              **simulation)
    return Scenario.model_validate(data)


def same_raw(a, b, path="raw"):
    """Two raw results equal, floats to 1e-9 relative (the calm stretches add the same terms in
    another order); a typed record field by field, a histogram by its counts and its sum."""
    if is_dataclass(a):
        assert type(a) is type(b), path
        for f in fields(a):
            same_raw(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            same_raw(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)) and not isinstance(a, str):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same_raw(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True), path
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True), path
    elif hasattr(a, "counts"):
        assert a.counts.tolist() == b.counts.tolist(), path
        same_raw(a.total_s, b.total_s, f"{path}.total_s")
    else:
        assert a == b, path
