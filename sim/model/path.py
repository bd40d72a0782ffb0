"""The request path as data: the hops a request takes, the random streams each hop draws from and
how many samples a visit draws, and the ways each hop fails.

Every engine reads this one description: the reference engine (sim.engines.request_path) takes its
samplers and checks its failure reasons here; the fast engine (sim.engines.fast) derives from it its
sample pools and their names, its failure-reason codes, and the draws a calm stretch skips past
for the requests it keeps. A hop's rules (what it does with its samples) are written once per
engine: ARCHITECTURE.md has the checklist for adding one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sim.model.schema import Dist, Topology
from sim.model.schema_workload import Operation


@dataclass(frozen=True)
class Stream:
    """A named random stream. The reference engine samples `name`; the fast engine draws a pool
    of samples from the same stream, read by compiled code through the config field `p_<pool>`."""
    name: str
    pool: str
    dist: Callable[[Topology], Dist | None]  # None: uniforms in [0, 1) (a hash)
    present: Callable[[Topology], bool] = lambda t: True


# HAProxy retries a refused connection after a turn-around of min(timeout connect, 1 s)
RETRY_TURNAROUND_S = 1.0


def _db(t: Topology):
    return t.db_fleet or t.postgres


STREAMS = (
    Stream("service/lb", "lb", lambda t: t.load_balancers.service),
    Stream("service/net/lb-app", "net_app", lambda t: t.network.lb_app_rtt),
    Stream("service/net/app-redis", "net_redis", lambda t: t.network.app_redis_rtt),
    Stream("service/net/app-db", "net_db", lambda t: t.network.app_db_rtt),
    Stream("route/session", "route", lambda t: None),  # the session's hash: its shard, its reader
    Stream("service/redis/roundtrip", "redis_rt", lambda t: t.redis.roundtrip_service,
           lambda t: t.redis is not None),
    Stream("service/redis/command", "redis_cmd", lambda t: t.redis.command_service,
           lambda t: t.redis is not None),
    # a replica applies each command it receives in the time the master took (sim.engines.replication)
    Stream("service/replication", "repl", lambda t: t.redis.command_service,
           lambda t: t.redis is not None),
    Stream("service/db/write", "db_write", lambda t: _db(t).write_service, lambda t: _db(t) is not None),
    Stream("service/db/read", "db_read", lambda t: _db(t).read_service, lambda t: _db(t) is not None),
    Stream("service/memcached/get", "cache_get", lambda t: t.memcached.get_service,
           lambda t: t.memcached is not None),
    Stream("service/net/app-memcached", "net_cache", lambda t: t.network.app_memcached_rtt,
           lambda t: t.memcached is not None),
    # a read's key: its node, and whether the node holds it (sim.engines.request_path._cache_hit)
    Stream("route/cache", "cache_key", lambda t: None, lambda t: t.memcached is not None),
)
POOLS = tuple(s.pool for s in STREAMS)
STREAM = {s.pool: s for s in STREAMS}


def cpu_stream(op_name: str) -> str:
    """Each operation's CPU time has a stream of its own (the pool "cpu" of a hop's draws)."""
    return f"service/cpu/{op_name}"


def streams(topology: Topology, operations: dict[str, Operation]) -> dict[str, Dist | None]:
    """The named streams this topology draws from, each with its distribution."""
    named = {s.name: s.dist(topology) for s in STREAMS if s.present(topology)}
    return named | {cpu_stream(name): op.cpu for name, op in operations.items()}


@dataclass(frozen=True)
class Hop:
    """A step of the path: how it fails, and the samples one visit draws from each pool (by an
    operation, on the path every request of a calm stretch takes: sim.engines.fast.bulk)."""
    name: str
    reasons: tuple[str, ...]
    draws: Callable[[Operation], dict[str, int]] = lambda op: {}


def _trips(op: Operation) -> int:
    return 1 if op.pipelined else op.session_commands


# A call to a FIFO station (a database's connection pool) fails in one of four ways, in this order:
# no server to send it to, the server refused (crashed), it timed out, or the server was lost
# with it (crashed or hung while it was there).
CALL_OUTCOMES = ("down", "refused", "timeout", "lost")
# What a database call is for; the prefix of its failure reasons.
DB_CALLS = ("db_session", "db_read", "db_write", "fallback")

HOPS = (
    Hop("balancer", ("no_load_balancer", "lb_timeout", "lb_queue", "lb_lost"),
        lambda op: {"lb": 1, "net_app": 1}),
    Hop("app", ("no_app_server", "app_timeout", "app_queue", "app_lost", "app_refused"),
        lambda op: {"cpu": 1, "route": 1}),  # "cpu": the operation's own stream
    Hop("redis", ("redis_down", "redis_noreplicas", "redis_refused", "redis_timeout", "redis_lost",
                  "redis_wait_timeout"),
        lambda op: {"net_redis": _trips(op), "redis_rt": _trips(op), "redis_cmd": op.session_commands}
        if op.session_commands else {}),
    # one read or write of the business data, on the calm path
    Hop("database", tuple(f"{call}_{outcome}" for call in DB_CALLS for outcome in CALL_OUTCOMES),
        lambda op: {"net_db": 1, "db_read" if op.db_reads else "db_write": 1}),
    # before a database read: the cache never fails a request, it falls through to the database
    Hop("cache", (), lambda op: {"cache_key": 1, "net_cache": 1, "cache_get": 1}),
)
HOP = {h.name: i for i, h in enumerate(HOPS)}
REASONS = tuple(reason for hop in HOPS for reason in hop.reasons)


def reason_code(reason: str) -> int:
    return REASONS.index(reason)


@dataclass(frozen=True)
class Tier:
    """Nodes a hop calls as FIFO stations, declared by a section of the topology: `nodes`
    stations of `capacity` servers each, named <name>-1, <name>-2..., of kind and price kind
    <name> (sim.model.topology). The fast engine gets each tier's stations, its client's timeout and
    one parameter of its rule (sim.engines.fast.build.tiers)."""
    name: str
    section: Callable[[Topology], Any]  # the tier's settings; None: the tier is absent
    nodes: Callable[[Any], int]
    capacity: Callable[[Any], int]
    timeout_s: Callable[[Any], float]
    param: Callable[[Any], float] = lambda cfg: 0.0


TIERS: tuple[Tier, ...] = (
    Tier("memcached", lambda t: t.memcached, nodes=lambda m: m.nodes, capacity=lambda m: m.threads,
         timeout_s=lambda m: m.timeout_s, param=lambda m: m.hit_ratio),
)
TIER = {t.name: i for i, t in enumerate(TIERS)}
