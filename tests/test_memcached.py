"""The Memcached application cache, cache-aside in front of PostgreSQL reads: exact event logs of
two reads on both engines for each of its rules, the share of reads it takes off the database
against the binomial law, and calm stretches that stay exact with it."""
import math
from pathlib import Path
from dataclasses import replace

import pytest

import sim.model.workload
from sim.study import runner
from sim.model.schema import Scenario
from tests.helpers import ENGINES, shortened
from tests.helpers import same_raw


def fixed(ms: float) -> dict:
    return {"dist": "deterministic", "mean_ms": ms}


def two_reads(engine: str, hit_ratio: float, failure: dict | None = None) -> Scenario:
    """One app server of 2 cores; one read, no session call: 0.05 ms of proxying, 0.1 ms to the
    app server, 1 ms of CPU, 0.1 ms to the cache, a 10 us get on its single thread, 0.1 ms back;
    on a miss 0.1 ms to the read replica, 2 ms there, 0.1 ms back; 0.1 ms to the client. A
    harmless 'slow x1' failure, when no other is given, turns on the recording of every
    completion."""
    return Scenario.model_validate({
        "name": "two-reads", "architecture": "redis_single",
        "workload": {"arrivals": {"kind": "constant", "rate_rps": 1}, "mix": {"view": 1.0},
                     "operations": {"view": {"cpu": fixed(1.0), "session_commands": 0,
                                             "session_write": False, "db_reads": 1}}},
        "topology": {"load_balancers": {"count": 1, "service": fixed(0.05)},
                     "app_servers": {"count": 1, "min_count": 1, "cores": 2, "workers": 4},
                     "postgres": {"replicas": 1, "read_replicas": 1, "connections": 4,
                                  "read_service": fixed(2.0)},
                     "memcached": {"nodes": 1, "hit_ratio": hit_ratio, "threads": 1,
                                   "get_service": fixed(0.01), "timeout_s": 0.05},
                     "network": {k: fixed(0.2) for k in ("lb_app_rtt", "app_redis_rtt", "app_db_rtt",
                                                         "app_memcached_rtt")}},
        "failures": [failure or {"name": "trace", "component": "app-1", "kind": "slow",
                                 "slow_factor": 1.0, "at_s": 0.05}],
        "cost": {"overrides_usd_per_month": {"memcached": 25}},
        "simulation": {"duration_s": 1, "warmup_s": 0, "replications": 1, "engine": engine}})


@pytest.fixture
def at_100_ms(monkeypatch):
    """Both reads arrive at 100 ms."""
    def arrivals(curve, rng, t0, t1):
        import numpy as np
        times = np.array([0.1, 0.1])
        return times[(times >= t0) & (times < t1)]
    monkeypatch.setattr(sim.model.workload, "arrival_times", arrivals)


def log(engine: str, hit_ratio: float, failure: dict | None = None) -> tuple[list, list, dict]:
    scenario = two_reads(engine, hit_ratio, failure)
    raw = runner.engine(scenario)(scenario, 0)
    done_at, latency = raw.incident_t_s, raw.incident_latency_s
    gets = {name: raw.nodes[name].throughput_rps for name in ("memcached-1", "pg-2")}
    return list(done_at), list(latency), gets


@pytest.mark.parametrize("engine", ENGINES)
def test_hits_are_answered_by_the_cache(engine, at_100_ms):
    """Both hit. A: the get at 101.25-101.26, done 101.46 (1.46 ms). B waits for the cache's
    thread until 101.26: done 101.47 (1.47 ms). The read replica sees neither."""
    done_at, latency, gets = log(engine, hit_ratio=1.0)
    assert latency == pytest.approx([0.00146, 0.00147], abs=1e-12)
    assert done_at == pytest.approx([0.10146, 0.10147], abs=1e-12)
    assert gets == {"memcached-1": 2, "pg-2": 0}


@pytest.mark.parametrize("engine", ENGINES)
def test_misses_go_on_to_the_read_replica(engine, at_100_ms):
    """Both miss: 1.46 ms + 0.1 + 2 + 0.1 ms at the replica (4 connections): A 3.66 ms, B 10 us
    later at the cache, 3.67 ms."""
    done_at, latency, gets = log(engine, hit_ratio=0.0)
    assert latency == pytest.approx([0.00366, 0.00367], abs=1e-12)
    assert gets == {"memcached-1": 2, "pg-2": 2}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_crashed_cache_falls_through_to_the_database(engine, at_100_ms):
    """memcached-1 crashed at 50 ms: the get is refused on arrival at 101.25, the read goes on to
    the replica: 0.05 + 0.1 + 1 + 0.1 + (0.1 + 2 + 0.1) + 0.1 = 3.55 ms, both; no request fails."""
    crash = {"name": "cache", "component": "memcached-1", "kind": "crash", "at_s": 0.05}
    done_at, latency, gets = log(engine, hit_ratio=1.0, failure=crash)
    assert latency == pytest.approx([0.00355, 0.00355], abs=1e-12)
    assert gets["pg-2"] == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_a_hung_cache_costs_the_clients_timeout(engine, at_100_ms):
    """memcached-1 hung at 50 ms: the client gives up 50 ms after it sent the get (49.9 ms after
    the get reached the node), then reads the replica: 0.05 + 0.1 + 1 + 0.1 + 49.9 + 2.2 + 0.1
    = 53.45 ms, both."""
    hang = {"name": "cache", "component": "memcached-1", "kind": "hang", "at_s": 0.05}
    done_at, latency, gets = log(engine, hit_ratio=1.0, failure=hang)
    assert latency == pytest.approx([0.05345, 0.05345], abs=1e-12)
    assert gets["pg-2"] == 2


def test_the_cache_takes_its_hit_ratio_of_reads_off_the_database():
    """peak-memcached.yaml, 20 s: of the N gets, the misses that reach the read replica are
    Binomial(N, 1 - hit ratio); the count lies within 4 standard deviations of its mean (a
    chance of 6e-5 of failing on a correct model, and the seed is fixed)."""
    scenario = shortened("peak-memcached", duration_s=20, warmup_s=2, replications=1)
    raw = runner.engine(scenario)(scenario, 0)
    window_s = raw.window_s
    n = sum(round(raw.nodes[f"memcached-{i}"].throughput_rps * window_s) for i in (1, 2))
    misses = round(raw.nodes["pg-2"].throughput_rps * window_s)
    h = scenario.topology.memcached.hit_ratio
    assert n > 1000
    assert abs(misses - (1 - h) * n) < 4 * math.sqrt(n * h * (1 - h))


RANDOM_CACHE = {"topology": {"memcached": {"get_service": {"dist": "lognormal", "mean_ms": 0.02, "cv": 1.5}},
                             "network": {k: {"dist": "exponential", "mean_ms": 0.2}
                                         for k in ("lb_app_rtt", "app_redis_rtt", "app_db_rtt",
                                                   "app_memcached_rtt")}},
                "workload": {"operations": {"login": {"cpu": {"dist": "gamma", "mean_ms": 1, "cv": 2}}}}}


# one thread a node, gets of 1.5 ms on average with a long tail, and a 20 ms timeout: a get now
# and then waits in the queue past its timeout (about one in a thousand)
QUEUED = {"topology": {"memcached": {"threads": 1, "timeout_s": 0.02,
                                     "get_service": {"dist": "lognormal", "mean_ms": 1.5, "cv": 1.5}}}}
CRASH = [{"name": "f", "component": "memcached-2", "kind": "crash", "at_s": 12, "repair_after_s": 3}]
DOWN = [{"name": "f", "component": "memcached-2", "kind": "crash", "at_s": 5}]


@pytest.mark.parametrize("failures, queued, in_bulk", [
    ([], {}, 0.9), (CRASH, {}, 0.25), (DOWN, {}, 0.0), ([], QUEUED, 0.1)])
def test_calm_stretches_stay_exact_with_the_cache(failures, queued, in_bulk):
    """Every cache time random, a cache node crashing (no calm stretch while it is down: from
    5 s to the end in the third case), gets leaving the queue at their timeout: the bulk path
    gives the event loop's figures; without failures it runs 90% of the requests at least, with
    a crash and a repair a quarter (as on the peak without a cache: tests/test_engines.py), with
    a queue that times out a tenth."""
    from sim.engines.fast.engine import run_replication
    from sim.model.yamlio import merge
    data = merge(merge(shortened("peak-memcached", 25, warmup_s=2).model_dump(), RANDOM_CACHE), queued)
    data["failures"] = failures
    s = Scenario.model_validate(data)
    events = run_replication(s, 0, bulk=False)
    bulk = run_replication(s, 0, bulk=True)
    assert bulk.bulk_requests >= in_bulk * bulk.totals.arrived
    if queued:
        assert sum(bulk.nodes[f"memcached-{i}"].abandoned for i in (1, 2)) > 10
    same_raw(replace(events, bulk_requests=None), replace(bulk, bulk_requests=None))


def test_a_cache_without_a_price_is_refused_before_the_run(tmp_path):
    """The document prices no Memcached node: a scenario with one and no price override is
    refused by `validate` (exit 2, one line naming the price file and what to give), not after a run."""
    import subprocess
    import sys
    bad = tmp_path / "nocost.yaml"
    bad.write_text("name: nocost\nbase: " + str(Path("scenarios/peak.yaml").resolve())
                   + "\ntopology:\n  memcached: {nodes: 1}\n")
    out = subprocess.run([sys.executable, "simulate.py", "validate", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "no price for node kind(s) memcached" in out.stderr
