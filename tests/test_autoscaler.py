"""The autoscaler against timings derived by hand from the document's rules.

A small app tier makes the rules bite at low load: servers of 1 core and 10 ms of CPU per request
carry 100 requests/s each. Rules are evaluated every 10 s over the last 10 s."""
import pytest

from sim.engines.setup import app_servers_billed

from sim.study.runner import engine
from sim.model.scenario import load
from sim.model.schema import Scenario


def run_replication(s: Scenario, replication: int) -> dict:
    return engine(s)(s, replication)  # the default engine; the autoscaler is control plane


def tier(rate_rps: float, count: int, duration_s: float, failures=(), **autoscaler) -> Scenario:
    data = load("scenarios/peak.yaml").model_dump()
    data["workload"]["arrivals"]["rate_rps"] = rate_rps
    data["workload"]["mix"] = {"session_update": 1.0}
    data["workload"]["operations"]["session_update"]["cpu"] = {"dist": "deterministic", "mean_ms": 10}
    data["topology"]["app_servers"].update(count=count, cores=1, workers=4, min_count=3, max_count=6)
    data["mechanisms"]["autoscaler"].update(enabled=True, **autoscaler)
    data["simulation"].update(duration_s=duration_s, warmup_s=0, replications=1)
    data["failures"] = list(failures)
    return Scenario.model_validate(data)


def events(raw, source="autoscaler"):
    return [(t, text) for t, src, text, _ in raw.events if src == source]


def test_scale_up_after_two_minutes_of_high_cpu_then_boot_and_health_checks():
    """270 req/s on 3 servers: CPU 90% > 80% from the start. The alarm has held 120 s at the
    evaluation at t = 120 s: app-4 is launched then, boots for 90 s (up at 210 s), and HAProxy's
    checks (inter 2 s, rise 2) put it in rotation within [212, 214) s. With 4 servers CPU falls
    to 67.5%: no second launch, and none while cooling down. Billed per month: a 240 s run is not
    a month, so the 3 servers it starts with; the same series over a day would bill its average,
    3 servers until 120 s and 4 after = 3.5."""
    raw = run_replication(tier(270, 3, 240), 0)
    log = events(raw)
    assert log[0][0] == pytest.approx(120.0) and "scale up (cpu alarm): launching app-4" in log[0][1]
    assert log[1] == (pytest.approx(210.0), "app-4 booted")
    assert len(log) == 2
    joined = [t for t, text in events(raw, "haproxy") if text == "app-4 in rotation"]
    assert len(joined) == 1 and 212.0 <= joined[0] < 214.0
    assert raw.nodes_by_price_kind["app_server"] == 3
    series = raw.series.app_servers
    assert app_servers_billed(series, 0, 86_400) == pytest.approx(3.5, abs=1 / 240)
    assert raw.nodes["app-4"].throughput_rps > 0 and raw.nodes["app-5"].throughput_rps == 0


def test_scale_down_after_ten_quiet_minutes_with_cooldown_between():
    """100 req/s on 5 servers: CPU 20% < 50% and no queue. The quiet alarm has held 600 s at
    t = 600 s: the newest server in rotation (app-5) is drained; the cooldown (300 s) holds the
    next action to t = 900 s, when app-4 goes; then the minimum of 3 is reached."""
    raw = run_replication(tier(100, 5, 1000), 0)
    scaled = [(t, text) for t, text in events(raw) if "draining" in text]
    assert [t for t, _ in scaled] == [pytest.approx(600.0), pytest.approx(900.0)]
    assert "app-5" in scaled[0][1] and "app-4" in scaled[1][1]
    assert raw.series.app_servers[-1] == 3


def test_a_crashed_server_is_replaced():
    """app-1 crashes at 10 s; the checks mark it down within [14, 16) s. At the first evaluation
    at least 60 s later (t = 80 s) it is terminated and a replacement launched, which boots for
    90 s (170 s) and joins the rotation within [172, 174) s. No request fails after app-1 left
    the rotation."""
    crash = {"name": "f", "component": "app-1", "kind": "crash", "at_s": 10.0}
    raw = run_replication(tier(50, 3, 200, failures=[crash]), 0)
    down = [t for t, text in events(raw, "haproxy") if text == "app-1 marked down by health checks"][0]
    assert 14.0 <= down < 16.0
    log = events(raw)
    assert log[0] == (pytest.approx(80.0), "app-1 terminated (unhealthy)")
    assert log[1][0] == pytest.approx(80.0) and "replace app-1: launching app-4" in log[1][1]
    joined = [t for t, text in events(raw, "haproxy") if text == "app-4 in rotation"]
    assert 172.0 <= joined[0] < 174.0
    failed = raw.bins.failed
    assert max(i for i, n in enumerate(failed) if n) * raw.bins.bin_s <= down + 3.1
