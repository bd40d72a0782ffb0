"""Tiny deterministic scenarios for the request path's rules, and the log of their requests.

Every time is fixed: the balancer proxies for 0.1 ms; each network round trip is 0.2 ms (app to
database 0.4 ms); CPU 1 ms on one core; Redis 0.01 ms a round trip plus 0.01 ms a command;
PostgreSQL reads 1 ms, writes 2 ms. A `page` alone: 0.1 ms proxying, 0.1 ms to the app server,
1 ms of CPU, 0.1 ms back: 1.3 ms.
"""
from __future__ import annotations

import numpy as np
import pytest

import sim.model.workload
from sim.study import runner
from sim.model.schema import Scenario
from sim.model.yamlio import merge


def fixed(ms: float) -> dict:
    return {"dist": "deterministic", "mean_ms": ms}


OPERATIONS = {
    "page": {"cpu": fixed(1), "session_commands": 0, "session_write": False},
    "pipelined": {"cpu": fixed(1), "session_commands": 4},     # one trip of 4 commands, a write
    "one_by_one": {"cpu": fixed(1), "session_commands": 4, "pipelined": False},
    "session_read": {"cpu": fixed(1), "session_commands": 1, "session_write": False},
    "db_read": {"cpu": fixed(1), "session_commands": 0, "db_reads": 1},
    "db_write": {"cpu": fixed(1), "session_commands": 0, "db_writes": 1},
}
DATABASE = {"write_service": fixed(2), "read_service": fixed(1)}
STORES = {"redis_single": {"redis": {"replicas": 0, "sentinels": 0, "roundtrip_service": fixed(0.01),
                                     "command_service": fixed(0.01)}, "postgres": DATABASE},
          "redis_ha": {"redis": {"replicas": 1, "sentinels": 3, "roundtrip_service": fixed(0.01),
                                 "command_service": fixed(0.01)}, "postgres": DATABASE},
          "db_fleet": {"db_fleet": DATABASE | {"servers": 2}}}


def scenario(engine: str, ops: list[str], changes: dict, architecture: str = "redis_single",
             duration_s: float = 0.1) -> Scenario:
    """The tiny scenario, with `changes` merged in; ops: the operations the requests use."""
    data = {
        "name": "rules", "architecture": architecture,
        "workload": {"arrivals": {"kind": "constant", "rate_rps": 1},
                     "mix": {op: 1 / len(ops) for op in ops},
                     "operations": {op: OPERATIONS[op] for op in ops}},
        "topology": {"load_balancers": {"count": 1, "service": fixed(0.1)},
                     "app_servers": {"count": 1, "min_count": 1, "cores": 1, "workers": 4},
                     "network": {"lb_app_rtt": fixed(0.2), "app_redis_rtt": fixed(0.2),
                                 "app_db_rtt": fixed(0.4)}} | STORES[architecture],
        # health checks every 10 s, 3 to fail: a crashed app server stays in rotation
        "mechanisms": {"health_check": {"inter_s": 10}},
        "simulation": {"duration_s": duration_s, "warmup_s": 0, "replications": 1, "engine": engine,
                       "log_requests": 10}}
    return Scenario.model_validate(merge(data, changes))


def run(monkeypatch, s: Scenario, requests: list[tuple[float, str]]) -> dict:
    """One replication whose requests are `requests` (arrival in ms, operation), in time order."""
    def chunk(stream):
        t0, stream.t = stream.t, stream.end
        inside = [(t / 1000, stream.names.index(op)) for t, op in requests if t0 <= t / 1000 < stream.t]
        return (np.array([t for t, _ in inside]), np.array([op for _, op in inside], np.int64),
                stream.t)
    monkeypatch.setattr(sim.model.workload.ArrivalStream, "next_chunk", chunk)
    return runner.engine(s)(s, 0)


def request_log(raw) -> list[tuple]:
    """The log as (arrived ms, ended ms, operation, outcome, app server), times to the ns."""
    def ms(t):
        return None if t is None else round(t * 1000, 6)
    return [(ms(r.arrived_s), ms(r.ended_s), r.op, r.outcome, r.app) for r in raw.request_log]


def logged(monkeypatch, engine: str, requests: list[tuple[float, str]], changes: dict,
           architecture: str = "redis_single", duration_s: float = 0.1) -> list[tuple]:
    """The log of `requests` through the tiny scenario with `changes`, on `engine`."""
    ops = sorted({op for _, op in requests})
    raw = run(monkeypatch, scenario(engine, ops, changes, architecture, duration_s), requests)
    log = request_log(raw)
    by_op(raw, log)
    return log


def by_op(raw, log: list[tuple]):
    """The latencies' histogram of each operation holds the requests of that operation the log
    says succeeded, and the sum of their latencies (the books and the log are kept apart)."""
    for op, hist in raw.latency_hist_by_op.items():
        ok = [(ended - arrived) / 1000 for arrived, ended, o, outcome, _ in log if o == op and outcome == "ok"]
        assert (hist.count, hist.total_s) == (len(ok), pytest.approx(sum(ok), abs=1e-9)), op


def failure(name: str, component: str, kind: str, at_ms: float, **more) -> dict:
    return {"name": name, "component": component, "kind": kind, "at_s": at_ms / 1000, **more}
