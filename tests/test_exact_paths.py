"""One request through each path of the request path, every time fixed: its latency, or when and
why it fails, added up by hand from the steps, on both engines (tests/helpers.py tiny: 0.05 ms of
proxying, 0.2 ms round trips, 1 ms of CPU, Redis 8 us a trip + 2 us a command)."""
import functools
from typing import NamedTuple

import pytest

from sim.study import runner
from sim.model.schema import Scenario
from sim.model.yamlio import merge
from sim.engines.results import Totals
from tests.helpers import ENGINES, at_times, fixed, tiny

T0_MS = 100  # the request arrives at 100 ms
FRONT_MS = 0.05 + 0.1 + 1.0  # proxying, half the trip to the app server, CPU
BACK_MS = 0.1  # the other half, with the response
PIPELINE_MS = 0.2 + 0.008 + 4 * 0.002  # the 4 commands of session_update in one trip


def op(**fields) -> dict:
    return {"workload": {"operations": {"session_update": fields}}}


def postgres(**fields) -> dict:
    return {"topology": {"postgres": fields}}


def merged(*overrides: dict) -> dict:
    return functools.reduce(merge, overrides, {})


COMPLETES = {  # overrides: latency (ms)
    "pipelined": ({}, FRONT_MS + PIPELINE_MS + BACK_MS),
    "no session call": (op(session_commands=0), FRONT_MS + BACK_MS),
    "unpipelined": (op(session_commands=3, pipelined=False), FRONT_MS + 3 * (0.2 + 0.008 + 0.002) + BACK_MS),
    # a read on the read replica (pg-2): 0.2 ms trip, 2 ms read
    "db read": (merged(op(db_reads=1), postgres(read_service=fixed(2))),
                FRONT_MS + PIPELINE_MS + 0.2 + 2 + BACK_MS),
    "db write": (merged(op(db_writes=1), postgres(write_service=fixed(3))),
                 FRONT_MS + PIPELINE_MS + 0.2 + 3 + BACK_MS),
    # the commit waits for a standby's flush: 5 ms more
    "db write, synchronous": (merged(op(db_writes=1), postgres(write_service=fixed(3)), {"mechanisms": {
        "pg_failover": {"synchronous": True, "lag_ms": 5}}}), FRONT_MS + PIPELINE_MS + 0.2 + 3 + 5 + BACK_MS),
    # WAIT 1: acknowledged once the replica has it, 1 ms after the master
    "WAIT": ({"architecture": "redis_ha", "topology": {"redis": {"replicas": 1, "sentinels": 3}},
              "mechanisms": {"replication": {"wait_replicas": 1, "lag_ms": 1}}},
             FRONT_MS + PIPELINE_MS + 1 + BACK_MS),
}


class Fails(NamedTuple):
    overrides: dict
    component: str   # fails at at_ms
    kind: str
    at_ms: float
    reason: str
    held_ms: float   # how long the request held its connection: from its arrival to its failure
    fast_later_ms: float = 0.0


# A request lost in a node that crashed while it was there fails, on the fast engine, when its
# reply would have come back: half a round trip after the reference notices (sim/engines/fast/__init__.py).
FAILS = {
    # the app server hangs: HAProxy's timeout server (200 ms) after the proxying
    "app hangs": Fails({"topology": {"load_balancers": {"timeout_server_s": 0.2}}}, "app-1", "hang", 50,
                       "app_timeout", 0.05 + 200),
    # Redis hangs: the client's socket timeout (100 ms) from the call
    "redis hangs": Fails({}, "redis-1", "hang", 50, "redis_timeout", FRONT_MS + 100),
    # Redis is down: the connection is refused when the call reaches it
    "redis down": Fails({"mechanisms": {"circuit_breaker": {"failure_threshold": 1000}}}, "redis-1",
                        "crash", 50, "redis_refused", FRONT_MS + 0.1),
    # the primary hangs: the pool's timeout (50 ms) after the write reaches it
    "primary hangs": Fails(merged(op(db_writes=1), postgres(pool_timeout_s=0.05)), "pg-1", "hang", 50,
                           "db_write_timeout", FRONT_MS + PIPELINE_MS + 0.1 + 50),
    # the core computes 100.15-101.15
    "app crashes": Fails({}, "app-1", "crash", 100.5, "app_lost", FRONT_MS),
    # Redis serves 101.25-102.258 (1 ms a trip)
    "redis crashes": Fails({"topology": {"redis": {"roundtrip_service": fixed(1)}}}, "redis-1", "crash",
                           101.8, "redis_lost", FRONT_MS + 0.1 + 1 + 4 * 0.002, 0.1),
    # the primary writes 101.466-104.466
    "primary crashes": Fails(merged(op(db_writes=1), postgres(write_service=fixed(3))), "pg-1", "crash", 102,
                             "db_write_lost", FRONT_MS + PIPELINE_MS + 0.1 + 3, 0.1),
}


def requests(engine: str, times_s: tuple, overrides: dict, monkeypatch, failure: dict | None = None) -> dict:
    """The raw result of the tiny scenario with these overrides, arrivals and failure."""
    at_times(monkeypatch, *times_s)
    data = merge(tiny(engine).model_dump(), overrides)
    if failure:
        data["failures"] = [failure]
    scenario = Scenario.model_validate(data)
    return runner.engine(scenario)(scenario, 0)


def one_request(engine: str, overrides: dict, monkeypatch, failure: dict | None = None) -> dict:
    return requests(engine, (T0_MS / 1000,), overrides, monkeypatch, failure)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path", COMPLETES)
def test_one_request_takes_the_sum_of_its_steps(path, engine, monkeypatch):
    overrides, latency_ms = COMPLETES[path]
    raw = one_request(engine, overrides, monkeypatch)
    assert raw.totals == Totals(arrived=1, completed=1, failed=0, in_flight=0)
    done_at, latency = raw.incident_t_s, raw.incident_latency_s
    assert list(latency) == pytest.approx([latency_ms / 1000], abs=1e-12)
    assert list(done_at) == pytest.approx([(T0_MS + latency_ms) / 1000], abs=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path", FAILS)
def test_one_request_fails_when_and_why_its_path_says(path, engine, monkeypatch):
    f = FAILS[path]
    raw = one_request(engine, f.overrides, monkeypatch,
                      {"name": "f", "component": f.component, "kind": f.kind, "at_s": f.at_ms / 1000})
    assert raw.totals == Totals(arrived=1, completed=0, failed=1, in_flight=0)
    assert raw.fail_reasons == {f.reason: 1}
    held_ms = f.held_ms + (f.fast_later_ms if engine == "fast" else 0)
    # over the 1 s window, the connection's mean use is the time it was held
    assert raw.nodes["lb-1"].in_system_mean == pytest.approx(held_ms / 1000, abs=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_requests_waiting_for_a_worker_time_out_in_turn(engine, monkeypatch):
    """One worker, 500 ms of CPU, HAProxy's timeout server 100 ms. A (100 ms) holds the worker
    from 100.15 to 600.366 and is done at 600.466. B (100.2 ms) waits from 100.35 and C (100.3 ms)
    from 100.45: each times out 100 ms later, B first, then C, when the queue's timer moves on."""
    raw = requests(engine, (0.1, 0.1002, 0.1003), {
        "topology": {"app_servers": {"workers": 1}, "load_balancers": {"timeout_server_s": 0.1}},
        "workload": {"operations": {"session_update": {"cpu": fixed(500)}}}}, monkeypatch)
    assert raw.totals == Totals(arrived=3, completed=1, failed=2, in_flight=0)
    assert raw.fail_reasons == {"app_queue": 2}
    assert list(raw.incident_latency_s) == pytest.approx([0.500466], abs=1e-12)
    workers = raw.nodes["app-1"]
    assert workers.abandoned == 2 and workers.waited_fraction == pytest.approx(2 / 3)
    assert workers.queue_mean == pytest.approx(0.2, abs=1e-12)  # B's and C's 100 ms
    # A's 500.466 ms, B's and C's 100.15 ms each (arrival to time-out)
    assert raw.nodes["lb-1"].in_system_mean == pytest.approx(0.700766, abs=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_balancer_with_one_connection_queues_and_times_out(engine, monkeypatch):
    """maxconn 1, timeout queue 1 ms. A (100 ms) holds the connection until 101.466; B (100.5)
    waits for it until then and is done 1.466 ms later (2.432 ms); C (100.6) waits behind B and
    leaves at 101.6."""
    raw = requests(engine, (0.1, 0.1005, 0.1006), {"topology": {"load_balancers": {
        "maxconn": 1, "timeout_queue_s": 0.001}}}, monkeypatch)
    assert raw.totals == Totals(arrived=3, completed=2, failed=1, in_flight=0)
    assert raw.fail_reasons == {"lb_queue": 1}
    assert list(raw.incident_latency_s) == pytest.approx([0.001466, 0.002432], abs=1e-12)
    lb = raw.nodes["lb-1"]
    assert lb.queue_mean == pytest.approx(0.000966 + 0.001, abs=1e-12)
    assert (lb.abandoned, lb.waited_fraction) == (1, pytest.approx(2 / 3))


@pytest.mark.parametrize("engine", ENGINES)
def test_the_breaker_opens_falls_back_and_tries_again(engine, monkeypatch):
    """Redis is down from 50 ms; the breaker opens after 2 failures and tries Redis again after
    300 ms. Requests at 100 and 110 ms are refused when their call reaches Redis (101.25 and
    111.25: the breaker opens then); at 120 ms the session goes to PostgreSQL (3 ms writes):
    done at 120 + 1.15 + 0.1 + 3 + 0.1 + 0.1 = 124.45 ms; at 500 ms the breaker lets one call
    try Redis (389.9 ms after it opened), refused again."""
    raw = requests(engine, (0.1, 0.11, 0.12, 0.5), {
        "mechanisms": {"circuit_breaker": {"failure_threshold": 2, "reset_timeout_s": 0.3}},
        "topology": {"postgres": {"write_service": fixed(3)}}}, monkeypatch,
        {"name": "f", "component": "redis-1", "kind": "crash", "at_s": 0.05})
    assert raw.totals == Totals(arrived=4, completed=1, failed=3, in_flight=0)
    assert raw.fail_reasons == {"redis_refused": 3} and raw.fallbacks == 1
    done_at, latency = raw.incident_t_s, raw.incident_latency_s
    assert (list(done_at), list(latency)) == (pytest.approx([0.12445], abs=1e-12),
                                              pytest.approx([0.00445], abs=1e-12))
    opened = [t for t, _, text, _ in raw.events if text == "breaker opened"]
    assert opened == pytest.approx([0.11125], abs=1e-12)


@pytest.mark.parametrize("redispatch", [False, True])
@pytest.mark.parametrize("engine", ENGINES)
def test_a_refused_connection_is_retried_then_redispatched(engine, redispatch, monkeypatch):
    """Two app servers, app-1 down from 50 ms (still in rotation: its health checks have not
    failed yet); round robin sends A (100 ms) to app-2, B (100.5 ms) to app-1. B's connection is
    refused and retried twice, 200 ms apart (timeout connect): at 500.55 ms it is refused for
    good, or, with `option redispatch`, the last retry goes to app-2 and B is done 1.416 ms
    later (401.466 ms)."""
    raw = requests(engine, (0.1, 0.1005), {
        "simulation": {"duration_s": 2}, "topology": {"app_servers": {"count": 2},
                                                     "load_balancers": {"timeout_connect_s": 0.2}},
        "mechanisms": {"health_check": {"retries": 2, "redispatch": redispatch}}}, monkeypatch,
        {"name": "f", "component": "app-1", "kind": "crash", "at_s": 0.05})
    latency = [0.001466, 0.401466] if redispatch else [0.001466]
    assert list(raw.incident_latency_s) == pytest.approx(latency, abs=1e-12)
    assert raw.fail_reasons == ({} if redispatch else {"app_refused": 1})
    # over the 2 s window: A's 1.466 ms and B's until it is done or refused
    held_ms = 1.466 + (401.466 if redispatch else 400.05)
    assert raw.nodes["lb-1"].in_system_mean == pytest.approx(held_ms / 2000, abs=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_requests_arriving_as_the_warm_up_ends_are_measured(engine, monkeypatch):
    """The window is [warm-up, end): two requests at 100 ms, with a warm-up of 100 ms and no
    proxying or network time, reach the core at 100 ms exactly; both count there, the second
    waited for the first (1 ms of CPU each)."""
    at_times(monkeypatch, 0.1, 0.1)
    zero = fixed(0)
    data = merge(tiny(engine).model_dump(), {"simulation": {"warmup_s": 0.1}, "topology": {
        "load_balancers": {"service": zero}, "network": {"lb_app_rtt": zero}}})
    scenario = Scenario.model_validate(data)
    raw = runner.engine(scenario)(scenario, 0)
    cpu = raw.nodes["app-1/cpu"]
    assert cpu.waited_fraction == 0.5
    assert cpu.throughput_rps == pytest.approx(2 / 0.9)
    assert raw.completed_in_window == 2
