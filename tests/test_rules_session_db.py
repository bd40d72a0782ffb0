"""The session store's and the database's rules, request by request, on both engines: exact logs
of 2-5 requests in the tiny scenario of tests.request_logs (times in ms, worked out in each
docstring). After its CPU (done 1.2 ms after arrival) a request calls Redis: 0.1 ms there, 0.01 ms
a round trip + 0.01 ms a command, 0.1 ms back; then PostgreSQL: 0.2 ms there, 1 ms a read or
2 ms a write, 0.2 ms back; its response reaches the balancer 0.1 ms later. A `pipelined` write
alone: 1.2 + 0.25 + 0.1 = 1.55 ms."""
import pytest

from sim.engines.streams import Streams
from tests.helpers import ENGINES
from tests.request_logs import failure, fixed, logged, request_log, run, scenario

REDIS_SLOW = failure("slow", "redis-1", "slow", 0.5, slow_factor=100)  # 4 commands: 5 ms


@pytest.mark.parametrize("engine", ENGINES)
def test_one_round_trip_per_command_or_pipelined(engine, monkeypatch):
    """4 commands pipelined: one trip of 0.2 + 0.05 ms (2.55). One by one: 4 trips of 0.2 + 0.02 ms
    (5 + 1.2 + 0.88 + 0.1 = 7.18)."""
    log = logged(monkeypatch, engine, [(1, "pipelined"), (5, "one_by_one")], {})
    assert log == [(1, 2.55, "pipelined", "ok", "app-1"), (5, 7.18, "one_by_one", "ok", "app-1")]


@pytest.mark.parametrize("engine", ENGINES)
def test_socket_timeout(engine, monkeypatch):
    """Socket timeout 1 ms; the master slowed x100 at 0.5 ms (a call: 5 ms) and hung at 10 ms.
    A's call (2.2): served 2.3-7.3, its reply would be back at 7.4: the client gives up at 3.2
    (redis_timeout); the master serves it all the same. B's call (3.2, after A's CPU): reaches
    the busy master at 3.3 and gives up after 1 - 0.1 ms (4.2). C's call (12.2) meets
    the hung master at 12.3 and gives up at 13.2."""
    changes = {"topology": {"redis": {"socket_timeout_s": 0.001}},
               "failures": [REDIS_SLOW, failure("hang", "redis-1", "hang", 10)]}
    log = logged(monkeypatch, engine, [(1, "pipelined"), (2, "pipelined"), (11, "pipelined")], changes)
    assert log == [(1, 3.2, "pipelined", "redis_timeout", "app-1"),
                   (2, 4.2, "pipelined", "redis_timeout", "app-1"),
                   (11, 13.2, "pipelined", "redis_timeout", "app-1")]


@pytest.mark.parametrize("engine", ENGINES)
def test_master_crashed(engine, monkeypatch):
    """The master (slowed x100 at 0.5 ms) crashes at 5 ms during A's call (2.3-7.3): redis_lost,
    on the reference when the master lets go of it (7.3), on the fast engine when its reply
    would have come back, half a round trip later (7.4): the documented departure. B at 10 ms
    finds the crashed master (no Sentinel to replace it): redis_refused at 11.3."""
    changes = {"failures": [REDIS_SLOW, failure("crash", "redis-1", "crash", 5)]}
    log = logged(monkeypatch, engine, [(1, "pipelined"), (10, "pipelined")], changes)
    lost_ms = 7.3 if engine == "reference" else 7.4
    assert log == [(1, lost_ms, "pipelined", "redis_lost", "app-1"),
                   (10, 11.3, "pipelined", "redis_refused", "app-1")]


REPLICA_CRASH = failure("replica", "redis-2", "crash", 5)


@pytest.mark.parametrize("engine", ENGINES)
def test_min_replicas_to_write(engine, monkeypatch):
    """min-replicas-to-write 1; the only replica crashes at 5 ms. A writes before (2.55). B's write
    is refused when it begins (11.2): redis_noreplicas. C reads (one command: 0.22 ms; 21.52)."""
    changes = {"mechanisms": {"replication": {"min_replicas_to_write": 1}}, "failures": [REPLICA_CRASH]}
    log = logged(monkeypatch, engine, [(1, "pipelined"), (10, "pipelined"), (20, "session_read")],
                 changes, architecture="redis_ha")
    assert log == [(1, 2.55, "pipelined", "ok", "app-1"),
                   (10, 11.2, "pipelined", "redis_noreplicas", "app-1"),
                   (20, 21.52, "session_read", "ok", "app-1")]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_promoted_replica_has_applied_what_it_received(engine, monkeypatch):
    """down-after 50 ms; the master crashes at 5 ms, Sentinel promotes redis-2 at about 1.2 s. A
    writes at 1 ms (2.55), replicated to redis-2; B writes at 2.5 s on redis-2 (2501.55). Over
    the 3 s, redis-1 served A (1/3 a second) and redis-2 applied A's commands, then served B
    (2/3); with requests seconds apart nothing waits at either: A's batch was applied on the
    replica when it came, not after B's call on the promoted master."""
    changes = {"mechanisms": {"sentinel": {"down_after_ms": 50}},
               "failures": [failure("master", "redis-1", "crash", 5)]}
    s = scenario(engine, ["pipelined"], changes, architecture="redis_ha", duration_s=3)
    raw = run(monkeypatch, s, [(1, "pipelined"), (2500, "pipelined")])
    assert request_log(raw) == [(1, 2.55, "pipelined", "ok", "app-1"),
                                (2500, 2501.55, "pipelined", "ok", "app-1")]
    nodes = raw.nodes
    assert [nodes[n].throughput_rps for n in ("redis-1", "redis-2")] == pytest.approx([1 / 3, 2 / 3])
    assert [(nodes[n].queue_mean, nodes[n].waited_fraction) for n in ("redis-1", "redis-2")] == [(0, 0)] * 2


@pytest.mark.parametrize("engine", ENGINES)
def test_wait_for_a_replica(engine, monkeypatch):
    """WAIT 1 after each write, replication lag 1 ms, socket timeout 10 ms; the only replica
    crashes at 5 ms. A's write is acknowledged 1 ms after its reply (2.45 + 1 + 0.1 = 3.55). B's
    reply comes at 11.45; no replica to wait for: redis_wait_timeout a socket timeout later
    (21.45)."""
    changes = {"topology": {"redis": {"socket_timeout_s": 0.01}},
               "mechanisms": {"replication": {"wait_replicas": 1, "lag_ms": 1}}, "failures": [REPLICA_CRASH]}
    log = logged(monkeypatch, engine, [(1, "pipelined"), (10, "pipelined")], changes,
                 architecture="redis_ha")
    assert log == [(1, 3.55, "pipelined", "ok", "app-1"),
                   (10, 21.45, "pipelined", "redis_wait_timeout", "app-1")]


U = 1000 / 4096  # ms: 2**-12 s, a unit in which every sum of the times below is exact


@pytest.mark.parametrize("engine", ENGINES)
def test_circuit_breaker_half_open_at_exactly_its_reset_timeout(engine, monkeypatch):
    """Every time a whole number of units U (2**-12 s): proxying 1, half trips 1, CPU 4 (on one
    of 2 cores), a pipelined call 5 at Redis; failure_threshold 2, reset_timeout 64. The master crashes at 1 and
    restarts at 41. A (8) and B (16) are refused (15, 23): B's refusal opens the breaker at 23.
    C (80) asks at 86, before the reset: PostgreSQL (89 + 2 ms). D (81) asks at 87, exactly 64
    after the opening: the half-open trial, on Redis (95)."""
    changes = {"topology": {"load_balancers": {"service": fixed(U)}, "app_servers": {"cores": 2},
                            "network": {k: fixed(2 * U) for k in ("lb_app_rtt", "app_redis_rtt", "app_db_rtt")},
                            "redis": {"roundtrip_service": fixed(U), "command_service": fixed(U)}},
               "workload": {"operations": {"pipelined": {"cpu": fixed(4 * U)}}},
               "mechanisms": {"circuit_breaker": {"failure_threshold": 2, "reset_timeout_s": 64 / 4096}},
               "failures": [failure("crash", "redis-1", "crash", U, repair_after_s=40 / 4096)]}
    log = logged(monkeypatch, engine, [(8 * U, "pipelined"), (16 * U, "pipelined"), (80 * U, "pipelined"),
                                       (81 * U, "pipelined")], changes)
    assert log == [(round(a * U, 6), round(end, 6), "pipelined", outcome, "app-1") for a, end, outcome in
                   [(8, 15 * U, "redis_refused"), (16, 23 * U, "redis_refused"), (80, 89 * U + 2, "ok"),
                    (81, 95 * U, "ok")]]


@pytest.mark.parametrize("engine", ENGINES)
def test_circuit_breaker(engine, monkeypatch):
    """failure_threshold 2, reset_timeout 10 ms; the master crashes at 0.5 ms and restarts at 20.5.
    A and B are refused (2.3, 4.3): the second failure opens the breaker at 4.3. C's session call
    (6.2) goes to PostgreSQL, a write (6.4-8.4; 8.7). D's (21.2), 16.9 ms after the opening, is
    the half-open trial: Redis answers (21.45), the breaker closes (21.55). E's goes to Redis."""
    changes = {"mechanisms": {"circuit_breaker": {"failure_threshold": 2, "reset_timeout_s": 0.01}},
               "failures": [failure("crash", "redis-1", "crash", 0.5, repair_after_s=0.02)]}
    s = scenario(engine, ["pipelined"], changes)
    raw = run(monkeypatch, s, [(1, "pipelined"), (3, "pipelined"), (5, "pipelined"), (20, "pipelined"),
                               (25, "pipelined")])
    assert request_log(raw) == [(1, 2.3, "pipelined", "redis_refused", "app-1"),
                                (3, 4.3, "pipelined", "redis_refused", "app-1"),
                                (5, 8.7, "pipelined", "ok", "app-1"), (20, 21.55, "pipelined", "ok", "app-1"),
                                (25, 26.55, "pipelined", "ok", "app-1")]
    assert raw.fallbacks == 1
    breaker = [(round(t * 1000, 6), text) for t, source, text, _ in raw.events if source == "app"]
    assert breaker == [(4.3, "breaker opened"), (4.3, "session traffic to PostgreSQL"),
                       (21.45, "breaker closed: session traffic back to Redis")]


@pytest.mark.parametrize("engine", ENGINES)
def test_reads_round_robin_over_read_replicas_writes_on_the_primary(engine, monkeypatch):
    """Two read replicas, pg-2 slowed x3 at 0.5 ms. Reads take turns starting with the second
    replica: A on pg-3 (1 ms: 3.7), B on pg-2 (3 ms: 9.7); C's write on the primary pg-1 (2 ms: 13.7)."""
    changes = {"topology": {"postgres": {"replicas": 2, "read_replicas": 2}},
               "failures": [failure("slow", "pg-2", "slow", 0.5, slow_factor=3)]}
    s = scenario(engine, ["db_read", "db_write"], changes)
    raw = run(monkeypatch, s, [(1, "db_read"), (5, "db_read"), (10, "db_write")])
    assert request_log(raw) == [(1, 3.7, "db_read", "ok", "app-1"), (5, 9.7, "db_read", "ok", "app-1"),
                                (10, 13.7, "db_write", "ok", "app-1")]
    served = {n: round(raw.nodes[n].throughput_rps * raw.window_s) for n in ("pg-1", "pg-2", "pg-3")}
    assert served == {"pg-1": 1, "pg-2": 1, "pg-3": 1}


@pytest.mark.parametrize("engine", ENGINES)
def test_synchronous_commit_waits_for_the_standby(engine, monkeypatch):
    """pg_failover.synchronous, lag 5 ms: A's write commits at 4.6 and returns 5 ms later (9.7);
    B's read does not wait (22.7)."""
    changes = {"mechanisms": {"pg_failover": {"synchronous": True, "lag_ms": 5}}}
    log = logged(monkeypatch, engine, [(1, "db_write"), (20, "db_read")], changes)
    assert log == [(1, 9.7, "db_write", "ok", "app-1"), (20, 22.7, "db_read", "ok", "app-1")]


@pytest.mark.parametrize("engine", ENGINES)
def test_db_fleet_shard_by_session_hash(engine, monkeypatch):
    """db_fleet of 2 servers, db-2 slowed x3 at 0.5 ms. A session write goes to the shard of the
    session's hash u (the "route/session" stream): db-(1 + int(2u)), a write of 2 ms (3.7) or,
    on db-2, 6 ms (7.7)."""
    hashes = Streams(1, 0).rng("route/session").random(3)
    shards = [1 + int(2 * u) for u in hashes]
    assert set(shards) == {1, 2}  # this seed uses both
    changes = {"failures": [failure("slow", "db-2", "slow", 0.5, slow_factor=3)]}
    log = logged(monkeypatch, engine, [(1, "pipelined"), (11, "pipelined"), (21, "pipelined")], changes,
                 architecture="db_fleet")
    assert log == [(t, t + (7.7 if shard == 2 else 3.7), "pipelined", "ok", "app-1")
                   for t, shard in zip((1, 11, 21), shards)]


@pytest.mark.parametrize("engine", ENGINES)
def test_database_pool_timeout(engine, monkeypatch):
    """One connection per server, pool timeout 1 ms, two cores. A writes on pg-1 2.4-4.4 (4.7).
    B reaches it at 2.5 and gives up at 3.5: db_write_timeout. C reaches it at 3.9, waits to 4.4
    (6.7)."""
    changes = {"topology": {"postgres": {"connections": 1, "pool_timeout_s": 0.001},
                            "app_servers": {"cores": 2}}}
    log = logged(monkeypatch, engine, [(1, "db_write"), (1.1, "db_write"), (2.5, "db_write")], changes)
    assert log == [(1, 4.7, "db_write", "ok", "app-1"), (1.1, 3.5, "db_write", "db_write_timeout", "app-1"),
                   (2.5, 6.7, "db_write", "ok", "app-1")]
