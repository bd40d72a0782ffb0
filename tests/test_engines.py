"""The fast engine against the reference: an exact event log of a tiny scenario, and agreement on
every shipped scenario and on the failure matrix.

Agreement, as the fast engine's contract states it: its mean throughput, p50, p99, failed
requests and lost writes over the replications fall inside the reference engine's 95%
confidence interval (a figure the reference gives the same in every replication must be matched
exactly). Both engines draw arrivals and samples from the same named streams, so they are
compared on common random numbers: the check has no statistical slack to hide a bias in."""
import math
from dataclasses import replace

import pytest

from sim.study import failure_matrix, runner
from sim.engines.results import Replication, Totals
from sim.model.schema import Scenario
from sim.study.stats import ci95
from tests.helpers import ENGINES, at_times, same_raw, shortened, tiny


@pytest.mark.parametrize("engine", ENGINES)
def test_tiny_scenario_exact_event_log(engine, monkeypatch):
    """Requests A and B at 100 ms, C at 100.5 ms, D at 999.5 ms. Each takes 0.05 ms of proxying,
    0.1 ms to the app server, 1 ms of CPU, 0.1 ms to Redis, 0.016 ms there (8 us + 4 commands x
    2 us), 0.1 ms back, 0.1 ms to the client: 1.466 ms alone.
    - A: worker 1 at 100.15, CPU 100.15-101.15, Redis 101.25-101.266, done 101.466 (1.466 ms).
    - B: worker 2 at 100.15, waits for the core until 101.15, CPU to 102.15, Redis 102.25-102.266,
      done 102.466 (2.466 ms).
    - C: at the workers at 100.65, both busy; A releases its worker at 101.366; the core is B's
      until 102.15, CPU to 103.15, Redis 103.25-103.266, done 103.466 (2.966 ms).
    - D: worker and core at 999.65, still computing when the run ends at 1 s: its connection,
      worker and core count as busy until then; it neither completes nor fails."""
    at_times(monkeypatch, 0.1, 0.1, 0.1005, 0.9995)
    data = tiny(engine).model_dump()
    data["failures"][0]["at_s"] = 0.5  # after A, B and C are done
    scenario = Scenario.model_validate(data)
    raw = runner.engine(scenario)(scenario, 0)
    done_at, latency = raw.incident_t_s, raw.incident_latency_s
    assert done_at == pytest.approx([0.101466, 0.102466, 0.103466], abs=1e-12)
    assert latency == pytest.approx([0.001466, 0.002466, 0.002966], abs=1e-12)
    assert raw.totals == Totals(arrived=4, completed=3, failed=0, in_flight=1)
    nodes = raw.nodes  # over a 1 s window: areas in seconds are means
    workers, cpu, redis, lb = nodes["app-1"], nodes["app-1/cpu"], nodes["redis-1"], nodes["lb-1"]
    # worker-seconds: A 100.15-101.366, B 100.15-102.366, C 101.366-103.366, D 999.65-1000
    assert workers.utilisation * 2 == pytest.approx(0.001216 + 0.002216 + 0.002 + 0.00035, abs=1e-12)
    assert workers.queue_mean == pytest.approx(0.000716, abs=1e-12)  # C, 100.65-101.366
    assert workers.waited_fraction == pytest.approx(1 / 4)
    # the core: three 1 ms services and D's 0.35 ms; B waits 100.15-101.15, C 101.366-102.15
    assert cpu.utilisation == pytest.approx(0.00335, abs=1e-12)
    assert cpu.queue_mean == pytest.approx(0.001 + 0.000784, abs=1e-12)
    assert (cpu.waited_fraction, cpu.throughput_rps) == (0.5, 3.0)
    assert cpu.sojourn_mean_s == pytest.approx((0.001 + 0.002 + 0.001784) / 3, abs=1e-12)
    assert redis.utilisation == pytest.approx(3 * 0.000016, abs=1e-12)
    assert redis.sojourn_mean_s == pytest.approx(0.000016, abs=1e-12)
    # each node's histogram of sojourns holds the 3 visits that ended (D's have not)
    assert [n.latency_hist.count for n in (workers, cpu, redis, lb)] == [3, 3, 3, 3]
    # connections from arrival to response (D's to the end): 1.466 + 2.466 + 2.966 + 0.5 ms
    assert lb.in_system_mean == pytest.approx(0.007398, abs=1e-12)
    assert lb.sojourn_mean_s == pytest.approx((0.001466 + 0.002466 + 0.002966) / 3, abs=1e-12)
    # the latencies' sums: all of them, those before the first failure (the 'trace' at 0.5 s)
    # and those of the one operation
    for hist in (raw.latency_hist, raw.baseline_hist, raw.latency_hist_by_op["session_update"]):
        assert (hist.count, hist.total_s) == (3, pytest.approx(0.001466 + 0.002466 + 0.002966, abs=1e-12))


def figures(raw: Replication) -> dict:
    h = raw.latency_hist
    return {"throughput_rps": raw.completed_in_window / raw.window_s,
            "p50_ms": h.quantile_s(0.5) * 1000, "p99_ms": h.quantile_s(0.99) * 1000,
            "failed": raw.failed_in_window, "lost_writes": sum(w.count for w in raw.lost_writes)}


def assert_inside(reference: list[dict], fast: list[dict], where: str):
    for key in reference[0]:
        ref = ci95([f[key] for f in reference])
        mean = sum(f[key] for f in fast) / len(fast)
        lo, hi = ref["ci95"]
        if lo is None:
            lo = hi = ref["mean"]
        if math.isnan(mean) and math.isnan(ref["mean"] if ref["mean"] is not None else math.nan):
            continue
        assert lo - 1e-9 <= mean <= hi + 1e-9, f"{where} {key}: fast {mean} outside reference [{lo}, {hi}]"


def on(engine: str, scenario: Scenario) -> Scenario:
    data = scenario.model_dump()
    data["simulation"]["engine"] = engine
    return Scenario.model_validate(data)


@pytest.mark.parametrize("name", ["peak", "average", "db-fleet", "redis-single", "day", "flash-sale",
                                  "peak-memcached"])
def test_fast_engine_agrees_on_every_shipped_scenario(name):
    """Each shipped scenario, its first 5 s (1 s of warm-up), 4 replications on each engine."""
    scenario = shortened(name, duration_s=5, warmup_s=1, replications=4)
    reference = [figures(r) for r in runner.simulate(on("reference", scenario))[0]]
    fast = [figures(r) for r in runner.simulate(on("fast", scenario))[0]]
    assert_inside(reference, fast, name)


def test_fast_engine_agrees_on_the_failure_matrix():
    """The failure matrix at 500 requests/s, each failure at 5 s in a 30 s run, 3 replications:
    detection, downtime, RTO, failed requests and lost writes of every failure agree, and so
    does the run without failures."""
    data = shortened("failure-matrix", duration_s=30, warmup_s=2, replications=3,
                     until_decided=False).model_dump()  # the same 3 replications on both engines
    data["workload"]["arrivals"]["rate_rps"] = 500
    for failure in data["failures"]:
        failure["at_s"] = 5.0
        if failure["repair_after_s"]:
            failure["repair_after_s"] = 10.0
    scenario = Scenario.model_validate(data)
    reports = {engine: failure_matrix.run(on(engine, scenario)) for engine in ENGINES}
    ref, fast = reports["reference"], reports["fast"]
    for key in ("throughput_rps", "error_rate"):
        assert_inside([{key: getattr(ref.metrics, key)["mean"]}], [{key: getattr(fast.metrics, key)["mean"]}],
                      key)
    for a, b in zip(ref.failures, fast.failures):
        for key in ("detection_s", "impaired_s", "outage_s", "rto_s", "failed_requests", "lost_writes"):
            ref_fig = a.figure(key)
            lo, hi = ref_fig["ci95"] if ref_fig["ci95"][0] is not None else (ref_fig["mean"],) * 2
            mean = b.figure(key)["mean"]
            if mean is None or lo is None:
                assert mean is None and ref_fig["mean"] is None, f"{a.name} {key}"
                continue
            assert lo - 1e-9 <= mean <= hi + 1e-9, f"{a.name} {key}: fast {mean} outside [{lo}, {hi}]"


def test_compiled_calls_keep_the_worlds_reference_count(monkeypatch):
    """The request path compiles without numba's reference counts (sim.engines.fast.world.jit); the entry
    points Python calls still count them, or every call would leak the World and its arrays."""
    from sim.engines.fast import engine, kernel
    counts = []
    advance = kernel.advance

    def counted(world, until, budget):
        before = world._meminfo.refcount
        out = advance(world, until, budget)
        counts.append((before, world._meminfo.refcount))
        return out
    monkeypatch.setattr(kernel, "advance", counted)
    engine.run_replication(tiny("fast"), 0)
    assert counts and all(after == before for before, after in counts), counts


def test_compiled_histogram_bucket_is_the_reference_one():
    """The fast engine's bucket() (a table read off a float's bits, no logarithm) against the
    LogHistogram's np.searchsorted on its edges: random values over the whole range, every edge
    and its neighbours one ulp away, and the ends."""
    import numpy as np
    from sim.engines.fast.books import EDGES, bucket
    rng = np.random.default_rng(1)
    values = np.concatenate([10 ** rng.uniform(-7, 4.5, 50_000), EDGES, np.nextafter(EDGES, 0),
                             np.nextafter(EDGES, np.inf), [0.0, -1.0, np.inf, np.nan]])
    expected = np.searchsorted(EDGES, values, side="right")
    expected[np.isnan(values)] = 0
    assert [bucket(v) for v in values] == expected.tolist()


@pytest.mark.parametrize("most_moved", [4096, 3])
def test_incident_samples_are_sorted_as_a_stable_argsort_sorts_them(most_moved):
    """The completions around a failure come nearly in time order, with ties: sorted in place by
    insertion; past `most_moved` places it gives up, and the stable argsort finishes the job."""
    import numpy as np
    from sim.engines.fast.results import sort_by_time
    rng = np.random.default_rng(2)
    t = np.round(np.arange(20_000) * 1e-3 + rng.exponential(5e-3, 20_000), 4)
    v = rng.random(20_000)
    order = np.argsort(t, kind="stable")
    expected_t, expected_v = t[order], v[order]
    done = sort_by_time(t, v, most_moved)
    assert done == (most_moved == 4096)
    if not done:
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
    assert np.array_equal(t, expected_t) and np.array_equal(v, expected_v)


RANDOM = {"workload": {"operations": {op: {"cpu": {"dist": "lognormal", "mean_ms": 1.0, "cv": 0.8}}
                                     for op in ("session_update", "login", "item_view")}},
          "topology": {"load_balancers": {"service": {"dist": "exponential", "mean_ms": 0.05}},
                       "redis": {"command_service": {"dist": "gamma", "mean_ms": 0.002, "cv": 2}},
                       "network": {k: {"dist": "exponential", "mean_ms": 0.2}
                                   for k in ("lb_app_rtt", "app_redis_rtt", "app_db_rtt")}}}


@pytest.mark.parametrize("name, duration_s, failures, overrides", [
    ("peak", 40, [], {}),
    ("peak", 40, [], RANDOM),
    ("peak", 40, [], {"topology": {"app_servers": {"workers": 7}}}),  # requests wait for workers
    ("peak", 40, [{"name": "f", "component": "redis_master", "kind": "crash", "at_s": 20}], {}),
    ("average", 60, [{"name": "f", "component": "app_server", "kind": "crash", "at_s": 30}], {}),
    ("flash-sale", 240, [], {})])
def test_calm_stretches_in_bulk_change_no_figure(name, duration_s, failures, overrides):
    """sim.engines.fast.bulk runs calm stretches without the event queue, drawing every sample in the
    order the event loop draws it: the figures are the event loop's, to the last count (sums of
    the same terms in another order: 1e-9 relative), also when every time is random and requests
    overtake each other between tiers, and when requests often wait for a worker (which ends a
    stretch). A quarter of the requests at least run in bulk."""
    from sim.engines.fast.engine import run_replication
    from sim.model.yamlio import merge
    s = shortened(name, duration_s)
    data = merge(s.model_dump(), overrides)
    data["failures"] = failures
    s = Scenario.model_validate(data)
    events = run_replication(s, 0, bulk=False)
    bulk = run_replication(s, 0, bulk=True)
    assert bulk.bulk_requests > 0.25 * bulk.totals.arrived
    same_raw(replace(events, bulk_requests=None), replace(bulk, bulk_requests=None))


def test_calm_stretches_stay_off_while_the_primary_is_down():
    """The database primary crashes at 5 s and stays down until the failover promotes a replica
    (seconds later): no calm stretch may send writes to it meanwhile. The bulk path gives the
    event loop's raw result."""
    from sim.engines.fast.engine import run_replication
    data = shortened("peak", 30).model_dump()
    data["failures"] = [{"name": "f", "component": "pg_primary", "kind": "crash", "at_s": 5}]
    s = Scenario.model_validate(data)
    events = run_replication(s, 0, bulk=False)
    bulk = run_replication(s, 0, bulk=True)
    assert bulk.bulk_requests > 0
    same_raw(replace(events, bulk_requests=None), replace(bulk, bulk_requests=None))


def test_buffers_that_start_small_grow_and_change_no_figure(monkeypatch):
    """The incident samples' buffer, sized for the completions expected around the failure, is
    doubled whenever it runs short, in the event loop or before a calm stretch that would fill
    it: started at 256 samples instead, it gives the same raw result, bit for bit. (A harmless
    'slow x1' failure turns on the recording of every completion from 8 s.)"""
    from sim.engines.fast import build
    from sim.engines.fast.engine import run_replication
    s = shortened("peak", 20)
    data = s.model_dump()
    data["failures"] = [{"name": "f", "component": "app-1", "kind": "slow", "slow_factor": 1.0, "at_s": 8}]
    s = Scenario.model_validate(data)
    roomy = run_replication(s, 0)
    monkeypatch.setattr(build, "incident_room", lambda *args: 256)
    small = run_replication(s, 0)
    assert small.bulk_requests > 0.25 * small.totals.arrived
    assert len(small.incident_t_s) > 20 * 256
    same_raw(roomy, small)


def test_compiled_caches_of_the_versions_used_last_are_kept(tmp_path):
    """The compiled code is cached per version of the fast engine's sources: importing it keeps
    its own cache and the KEEP - 1 others used last (another checkout's), removes the rest."""
    import os
    import subprocess
    import sys
    from sim.engines.fast import KEEP
    for age, name in enumerate(["fast-a", "fast-b", "fast-c", "fast-d"]):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (1e9 - age * 100, 1e9 - age * 100))  # fast-a used last
    code = "import numba, sim.engines.fast; print(numba.config.CACHE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path)))
    own = os.path.basename(out.stdout.strip())
    assert own.startswith("fast-") and own not in {"fast-a", "fast-b", "fast-c", "fast-d"}
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == ["fast-a", "fast-b", "fast-c", "fast-d"][:KEEP - 1]


def test_calm_stretches_take_workers_as_a_scan_would():
    """The calm path keeps each app server's busy workers as a min-heap of release times; against
    the scan it replaced (every worker, the earliest release taken), random arrivals give the
    same verdict for every request and the same release times, for pools of 1 to 100 workers;
    also when times are whole numbers, so that a worker is often released at the very time a
    request arrives (it is free for that request)."""
    import numpy as np
    from sim.engines.fast.stages import _take_worker
    take = _take_worker.py_func
    rng = np.random.default_rng(5)
    for cap in (1, 2, 7, 100):
        for whole in (False, True):
            heap, busy = np.zeros((1, cap)), np.zeros(1, np.int64)
            scan = np.full(cap, -np.inf)
            t = 0.0
            for _ in range(2000):
                gap, hold = rng.exponential(1.0), rng.exponential(cap * 0.9)
                t += np.round(gap) if whole else gap
                release = t + (np.round(hold) if whole else hold)
                k = int(np.argmin(scan))
                free = scan[k] <= t
                scan[k] = release
                assert take(heap, busy, 0, cap, t, release) == free
                assert sorted(heap[0, :busy[0]]) == sorted(scan[scan > -np.inf])


def test_peak_runs_in_calm_stretches():
    """A count, not a time: at peak nearly every request takes the calm path. A control-plane
    rule that reads the request path's state at each evaluation ends a stretch each time (the
    DatabaseReplicationLag alert once halved the share): that shows here, not only in a benchmark."""
    scenario = shortened("peak", duration_s=60, warmup_s=5, replications=1)
    raw = runner.engine(scenario)(scenario, 0)
    assert raw.bulk_requests / raw.totals.arrived > 0.9
