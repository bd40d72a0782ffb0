"""The scenario format: what the system *is*. Every default says where it comes from.

"doc" marks a figure of the design document (shared/seed/FACTS.md); "assumption" marks a value
the document does not give and no product default fixes: calibrate it (python simulate.py calibrate).
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, PositiveFloat, field_validator, model_validator

from sim.model.schema_failures import (COMPONENTS, FILE_OR_NAME, NAME, Failure, FieldError, Incidents,
                                  Mechanisms, Strict, slug)
from sim.model.schema_plan import Plan
from sim.model.schema_workload import MAX_MS, MAX_NODES, MAX_SLOTS, Arrivals, Dist, Workload, fixed  # noqa: F401


class LoadBalancers(Strict):
    count: int = Field(default=2, gt=0, le=MAX_NODES)  # doc: a pair behind a floating IP; one active
    balance: Literal["roundrobin", "leastconn"] = "roundrobin"  # doc
    maxconn: int = Field(default=4096, gt=0, le=10 * MAX_SLOTS)  # doc: HAProxy global maxconn
    timeout_connect_s: PositiveFloat = 5   # doc
    timeout_server_s: PositiveFloat = 50   # doc
    # HAProxy: "timeout queue" unset falls back to "timeout connect"
    timeout_queue_s: Optional[PositiveFloat] = None
    service: Dist = fixed(0.05)  # assumption: 50 us of proxying per request

    @model_validator(mode="after")
    def _resolve(self):
        if self.timeout_queue_s is None:
            self.timeout_queue_s = self.timeout_connect_s
        return self


class AppServers(Strict):
    count: int = Field(default=4, gt=0, le=MAX_NODES)   # doc: 4 at the start, auto-scaled 3-20
    cores: int = Field(default=4, gt=0, le=1024)    # assumption: 4 vCPU per server
    # default 2 x cores + 1: gunicorn's recommendation
    workers: Optional[int] = Field(default=None, gt=0, le=MAX_SLOTS)
    max_queue: int = Field(default=2048, ge=0, le=10 * MAX_SLOTS)  # gunicorn backlog default
    min_count: int = Field(default=3, gt=0, le=MAX_NODES)   # doc
    max_count: int = Field(default=20, gt=0, le=MAX_NODES)  # doc

    @model_validator(mode="after")
    def _resolve(self):
        if self.workers is None:
            self.workers = 2 * self.cores + 1
        if not self.min_count <= self.count <= self.max_count:
            raise FieldError(("count",), f"expected min_count <= count <= max_count, got "
                             f"{self.min_count} <= {self.count} <= {self.max_count}")
        return self


class Redis(Strict):
    replicas: int = Field(default=2, ge=0, le=100)   # doc
    sentinels: int = Field(default=3, ge=0, le=100)  # doc
    # doc "100,000+ ops/s": 10 us per single-command round trip = 8 us + 2 us per command
    roundtrip_service: Dist = fixed(0.008)
    command_service: Dist = fixed(0.002)
    socket_timeout_s: PositiveFloat = 0.1  # doc: Sentinel client socket_timeout
    bytes_per_session: PositiveFloat = 200  # doc claim; calibrate measures it
    bytes_per_cart: PositiveFloat = 300     # assumption
    maxmemory_mb: PositiveFloat = 4096      # assumption: a 4 GB instance
    replication_tick_s: PositiveFloat = 0.001  # replicas apply the stream in 1 ms batches


class Database(Strict):
    """A PostgreSQL server: `connections` in parallel, each write or read a service time."""
    connections: int = Field(default=20, gt=0, le=MAX_SLOTS)  # doc: ThreadedConnectionPool(1, 20) to the master
    # doc: 10-50 ms per write, 2,000 writes/s per server = 20 connections / 10 ms
    write_service: Dist = Dist(dist="lognormal", mean_ms=10, cv=0.5)
    read_service: Dist = Dist(dist="lognormal", mean_ms=2, cv=0.5)  # doc: ~10,000 reads/s
    pool_timeout_s: PositiveFloat = 30  # assumption: a client pool's wait for a connection


class Postgres(Database):
    replicas: int = Field(default=2, ge=0, le=100)  # doc: one for reads, one for analytics
    read_replicas: int = Field(default=1, ge=0, le=100)  # doc: replica 2 serves analytics only


class DbFleet(Database):
    servers: int = Field(default=10, gt=0, le=MAX_NODES)  # doc: 10 servers "to handle the peak"


class Memcached(Strict):
    """The document's optional application cache in front of PostgreSQL reads, cache-aside: a
    read asks the key's node first; a hit is answered there, a miss (or a node that is down or
    answers after timeout_s) goes on to the database. The document prices no Memcached node:
    give cost.overrides_usd_per_month.memcached."""
    nodes: int = Field(default=1, gt=0, le=MAX_NODES)
    hit_ratio: float = Field(default=0.8, ge=0, le=1)  # assumption
    get_service: Dist = fixed(0.01)  # assumption: 10 us per get
    threads: int = Field(default=4, gt=0, le=1024)  # memcached -t: 4 worker threads by default
    timeout_s: PositiveFloat = 0.05  # assumption: the client's timeout


class Network(Strict):
    """Round-trip times inside the data centre (assumption: 0.2 ms)."""
    lb_app_rtt: Dist = fixed(0.2)
    app_redis_rtt: Dist = fixed(0.2)
    app_db_rtt: Dist = fixed(0.2)
    app_memcached_rtt: Dist = fixed(0.2)


class Topology(Strict):
    load_balancers: LoadBalancers = LoadBalancers()
    app_servers: AppServers = AppServers()
    redis: Optional[Redis] = None
    postgres: Optional[Postgres] = None
    db_fleet: Optional[DbFleet] = None
    memcached: Optional[Memcached] = None
    network: Network = Network()


class Objectives(Strict):
    p99_latency_ms: PositiveFloat = 100     # assumption: a page's server-side p99 budget
    error_rate: float = Field(default=0.001, ge=0, le=1)  # doc: 99.9% overall availability
    throughput_rps: float = Field(default=0, ge=0)
    mean_latency_ms: Optional[PositiveFloat] = None  # unset: not judged


NODE_KINDS = ("load_balancer", "app_server", "redis_master", "redis_replica", "redis_sentinel",
              "pg_primary", "pg_replica", "db_server", "memcached")


class Cost(Strict):
    # a price file of data/prices/ by name, or a .yaml path relative to the scenario file
    prices: str = Field(default="doc-ha", pattern=FILE_OR_NAME)
    overrides_usd_per_month: dict[str, float] = {}
    include_fixed: bool = True

    @field_validator("overrides_usd_per_month")
    @classmethod
    def _known_kinds(cls, overrides):
        unknown = sorted(set(overrides) - set(NODE_KINDS))
        if unknown:
            raise FieldError((unknown[0],), f"unknown node kind(s) {unknown}; expected names from: "
                                            f"{', '.join(NODE_KINDS)}")
        negative = [k for k, v in overrides.items() if v < 0]
        if negative:
            raise FieldError((negative[0],), "prices must be >= 0")
        return overrides


class Simulation(Strict):
    duration_s: float = Field(default=60, gt=0, le=1e8)  # the budget guard bounds the run itself
    warmup_s: float = Field(default=10, ge=0)
    replications: int = Field(default=5, gt=0, le=100_000)  # a confidence interval needs two at least
    # more replications, in batches of `replications`, while a judged verdict is uncertain, up to
    # max_replications (unset: 20, or `replications` if more); unset: on for a failure matrix
    until_decided: Optional[bool] = None
    max_replications: Optional[int] = Field(default=None, gt=0, le=100_000)
    seed: int = Field(default=1, ge=0, lt=2 ** 63)
    # fast: the request path compiled (sim.engines.fast); reference: a SimPy process per request
    engine: Literal["fast", "reference"] = "fast"
    log_requests: int = Field(default=0, ge=0, le=10_000, description=(
        "The first N requests of each replication logged one by one: arrival and end times, "
        "operation, outcome ('ok' or the failure reason), app server (report.json's request_logs)"))

    @model_validator(mode="after")
    def _window(self):
        if self.max_replications is None:
            self.max_replications = max(20, self.replications)
        if self.max_replications < self.replications:
            raise FieldError(("max_replications",), f"max_replications ({self.max_replications}) must "
                             f"be at least replications ({self.replications})")
        if self.warmup_s >= self.duration_s:
            raise FieldError(("warmup_s",), f"warmup_s ({self.warmup_s:g} s) must be shorter than duration_s "
                             f"({self.duration_s:g} s)")
        return self


class Scenario(Strict):
    # a name, not a path: reports/<name>/ is where its report goes
    name: str = Field(pattern=NAME)
    description: str = Field(default="", max_length=10_000)
    base: Optional[str] = None  # another scenario file this one overrides, merged before loading
    architecture: Literal["db_fleet", "redis_single", "redis_ha"]
    workload: Workload
    topology: Topology = Topology()
    objectives: Objectives = Objectives()
    cost: Cost = Cost()
    simulation: Simulation = Simulation()
    failures: list[Failure] = []
    mechanisms: Mechanisms = Mechanisms()
    incidents: Incidents = Incidents()
    plan: Optional[Plan] = None  # the design space of `simulate.py plan` (sim.study.plan)

    @model_validator(mode="before")
    @classmethod
    def _architecture_defaults(cls, data):
        """An architecture brings its nodes with their defaults unless the file sets them (or null)."""
        if not isinstance(data, dict) or not isinstance(data.get("topology", {}), (dict, type(None))):
            return data
        architecture = data.get("architecture")
        defaults = {"redis_ha": {"redis": {}, "postgres": {}},
                    "redis_single": {"redis": {"replicas": 0, "sentinels": 0}, "postgres": {}},
                    "db_fleet": {"db_fleet": {}}}.get(architecture if isinstance(architecture, str) else "", {})
        topology = dict(data.get("topology") or {})
        for key, value in defaults.items():
            topology.setdefault(key, value)
        return {**data, "topology": topology}

    @model_validator(mode="after")
    def _consistent(self):
        t = self.topology
        if self.architecture == "db_fleet" and t.db_fleet is None:
            raise FieldError(("topology", "db_fleet"), "architecture db_fleet needs topology.db_fleet")
        if self.architecture != "db_fleet":
            if t.redis is None:
                raise FieldError(("topology", "redis"), f"architecture {self.architecture} needs topology.redis")
            if t.db_fleet is not None:
                raise FieldError(("topology", "db_fleet"), "topology.db_fleet is only for architecture db_fleet")
        if self.architecture == "redis_single" and (t.redis.replicas or t.redis.sentinels):
            raise FieldError(("topology", "redis", "replicas" if t.redis.replicas else "sentinels"),
                             "redis_single has no replicas and no sentinels")
        if self.architecture == "redis_ha" and not (t.redis.replicas and t.redis.sentinels):
            raise FieldError(("topology", "redis", "sentinels" if t.redis.replicas else "replicas"),
                             "redis_ha needs redis.replicas >= 1 and redis.sentinels >= 1")
        needs_db = [n for n, f in self.workload.mix.items() if f > 0 and
                    (self.workload.operations[n].db_reads or self.workload.operations[n].db_writes)]
        if needs_db and t.postgres is None and t.db_fleet is None:
            raise FieldError(("workload", "mix", needs_db[0]),
                             "operations with db_reads/db_writes need topology.postgres")
        if t.postgres and t.postgres.read_replicas > t.postgres.replicas:
            raise FieldError(("topology", "postgres", "read_replicas"),
                             "postgres.read_replicas cannot exceed postgres.replicas")
        components = set(self.components())
        seen: dict[str, int] = {}
        for i, failure in enumerate(self.failures):
            if failure.component not in components:
                raise FieldError(("failures", i, "component"),
                                 f"{failure.component!r} is not in this architecture; expected one "
                                 f"of: {self.components_text()}")
            if failure.at_s >= self.simulation.duration_s:
                raise FieldError(("failures", i, "at_s"), "a failure must fall inside simulation.duration_s")
            key = slug(failure.name)
            if not key:
                raise FieldError(("failures", i, "name"), "a failure's name needs a letter or a digit")
            if key in seen:
                raise FieldError(("failures", i, "name"), f"failures {seen[key]} and {i} have the same "
                                 "name (their plots would share a file); name each failure apart")
            seen[key] = i
        return self

    def _counts(self) -> dict[str, int]:
        t = self.topology
        return {"lb": t.load_balancers.count, "app": t.app_servers.count,
                "redis": 1 + t.redis.replicas if t.redis else 0,
                "pg": 1 + t.postgres.replicas if t.postgres else 0,
                "db": t.db_fleet.servers if t.db_fleet else 0,
                "memcached": t.memcached.nodes if t.memcached else 0}

    def _roles(self) -> list[str]:
        t = self.topology
        return [c for c in COMPONENTS if not (c.startswith("redis") and not t.redis)
                and not (c == "pg_primary" and not t.postgres)]

    def components_text(self) -> str:
        return ", ".join(self._roles() + [f"{k}-1" if n == 1 else f"{k}-1..{k}-{n}"
                                          for k, n in self._counts().items() if n])

    def components(self) -> list[str]:
        """What can fail here: roles, then nodes by name."""
        return self._roles() + [f"{kind}-{i + 1}" for kind, n in self._counts().items() for i in range(n)]
