"""The document's warning alerts (RedisHighMemoryUsage, DatabaseReplicationLag) and the
autoscaler's memory rule, against timings derived by hand. Small loads keep the runs cheap."""
import pytest

from sim.engines.mechanisms import gauges
from sim.study.runner import engine
from sim.model.scenario import load
from sim.model.schema import Scenario


def scenario(rate_rps=50.0, duration_s=200.0, failures=(), **changes) -> Scenario:
    data = load("scenarios/peak.yaml").model_dump()
    data["workload"]["arrivals"]["rate_rps"] = rate_rps
    data["simulation"].update(duration_s=duration_s, warmup_s=0, replications=1)
    data["failures"] = list(failures)
    for path, value in changes.items():
        node = data
        *head, last = path.split("__")
        for key in head:
            node = node[key]
        node[last] = value
    return Scenario.model_validate(data)


def fired(raw, name):
    return [t for t, src, text, mark in raw.events if src == "monitoring" and f"alert {name} " in text]


def test_redis_memory_alert_fires_after_five_minutes_over_90_percent():
    """50 req/s, 4.8% logins: 2.4 sessions/s kept 4,200 s (200 B) and 0.48 carts/s kept 87,000 s
    (300 B) = 14.5 MB, over a maxmemory of 15 MB: 97% > 90% from the first evaluation, at
    u ~ U(0, 15) s; it has held 300 s at u + 300. With 32 MB (45%) it never fires."""
    s = scenario(duration_s=330, topology__redis__maxmemory_mb=15)
    assert gauges.redis_memory_ratio(s)(100.0) == pytest.approx(
        (2.4 * 4200 * 200 + 0.48 * 87000 * 300) / (15 * 2 ** 20), rel=1e-3)
    times = fired(engine(s)(s, 0), "RedisHighMemoryUsage")
    assert len(times) == 1 and 300.0 <= times[0] < 315.0
    roomy = scenario(duration_s=330, topology__redis__maxmemory_mb=32)
    assert fired(engine(roomy)(roomy, 0), "RedisHighMemoryUsage") == []


def test_replication_lag_alert_fires_two_minutes_after_commits_stop():
    """The primary hangs at 20 s and the health check (every 10^6 s here) never promotes a
    replica: no commit from 20 s, so the replicas' lag is above 10 s from 30 s; the first
    evaluation after that (within 15 s) starts the 2 minutes: firing in [150, 165) s, a warning
    that detects no failure (RedisDown and DatabaseDown page; this one warns)."""
    hang = {"name": "pg-hang", "component": "pg_primary", "kind": "hang", "at_s": 20}
    s = scenario(duration_s=180, failures=[hang], mechanisms__pg_failover__health_check_period_s=1e6)
    raw = engine(s)(s, 0)
    times = fired(raw, "DatabaseReplicationLag")
    assert len(times) == 1 and 150.0 <= times[0] < 165.0
    marks = [mark for t, src, text, mark in raw.events if "DatabaseReplicationLag" in text]
    assert marks == ["warned"]
    healthy = scenario(duration_s=180)
    assert fired(engine(healthy)(healthy, 0), "DatabaseReplicationLag") == []


def test_autoscaler_scales_up_on_memory_alone():
    """3 servers at 100 req/s (CPU far below 80%, no queue) whose memory is 3,700 MB of 4,096
    before any request (90% > 85%): the memory alarm has held 120 s at the evaluation at
    t = 120 s, which launches a server; scale-down would need memory under 60%."""
    s = scenario(rate_rps=100, duration_s=130, topology__app_servers__count=3,
                 mechanisms__autoscaler__enabled=True, mechanisms__autoscaler__memory_base_mb=3700)
    log = [(t, text) for t, src, text, _ in engine(s)(s, 0).events if src == "autoscaler"]
    assert log and log[0][0] == pytest.approx(120.0) and "scale up (memory alarm)" in log[0][1]
    assert gauges.app_memory_ratio(s.mechanisms.autoscaler, 10) == pytest.approx((3700 + 160) / 4096)
