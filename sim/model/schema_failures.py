"""The scenario format, part two: failures and the mechanisms that detect and recover from them.

Defaults are the products' own unless the design document gives a figure ("doc").
"""
from __future__ import annotations

import re
import typing
from functools import lru_cache
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, field_validator, model_validator


class FieldError(ValueError):
    """A model validator's error about one of its fields (or a field below it): `loc` is that
    field's path from the model, so the message can name the field and its line."""

    def __init__(self, loc, message: str):
        super().__init__(message)
        self.loc = tuple(loc)


@lru_cache(maxsize=None)
def _numeric_fields(cls) -> dict[str, str]:
    """The fields of `cls` that hold numbers: name -> 'one', 'list' or 'dict' (of numbers)."""
    out = {}
    for name, field in cls.model_fields.items():
        ann = field.annotation
        if typing.get_origin(ann) is typing.Union:
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            ann = args[0] if len(args) == 1 else None
        origin, args = typing.get_origin(ann), typing.get_args(ann)
        if ann in (int, float):
            out[name] = "one"
        elif origin is list and args and args[0] in (int, float):
            out[name] = "list"
        elif origin is dict and len(args) == 2 and args[1] in (int, float):
            out[name] = "dict"
    return out


def _not_a_number(value):
    """A boolean where a number is meant, turned into the text the file wrote, so that the
    number's own check refuses it at its field (pydantic would take true for 1)."""
    return str(value).lower() if isinstance(value, bool) else value


class Strict(BaseModel):
    # NaN and infinities are refused wherever a number is meant; unknown fields too
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data):
        if not isinstance(data, dict):
            return data
        fields = _numeric_fields(cls)
        if not any(k in data for k in fields):
            return data
        data = dict(data)
        for name, shape in fields.items():
            if name not in data:
                continue
            value = data[name]
            if shape == "one":
                data[name] = _not_a_number(value)
            elif shape == "list" and isinstance(value, list):
                data[name] = [_not_a_number(v) for v in value]
            elif shape == "dict" and isinstance(value, dict):
                data[name] = {k: _not_a_number(v) for k, v in value.items()}
        return data


NAME = r"^\w[\w.-]{0,99}$"  # a name: letters, digits, '_', '.', '-'; never a path
FILE_OR_NAME = r"^(\w[\w.-]{0,99}|[^\x00]{1,4096}\.yaml)$"  # a name, or a path to a .yaml file


def slug(name: str) -> str:
    """A name as it appears in a file name: incident-<slug>.png."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


COMPONENTS = ("lb_active", "app_server", "redis_master", "redis_all", "pg_primary", "all")


class Failure(Strict):
    """One failure: a component (a role, or a node by name such as app-2) fails at at_s."""
    name: str = Field(min_length=1, max_length=100)
    component: str  # a role from COMPONENTS or a node name
    kind: Literal["crash", "hang", "partition", "slow"] = "crash"
    at_s: float = Field(ge=0)
    repair_after_s: Optional[PositiveFloat] = None  # back (empty, as after a restart) this long after
    slow_factor: PositiveFloat = 5.0  # kind slow: service times multiplied by this
    # whose detection counts: haproxy, keepalived, sentinel, app (the breaker), postgres or
    # monitoring; unset: whichever notices first
    detected_by: Optional[Literal["haproxy", "keepalived", "sentinel", "app", "postgres", "monitoring"]] = None


class Vrrp(Strict):
    """keepalived's VRRP between the load balancer pair."""
    advert_int_s: PositiveFloat = 1.0      # keepalived default
    backup_priority: int = Field(default=100, ge=1, le=254)  # keepalived default
    # RFC 3768: master down interval = 3 x advert_int + skew, skew = (256 - priority) / 256 x advert_int
    # A hung HAProxy leaves keepalived advertising: only a vrrp_script tracking it moves the VIP.
    track_interval_s: PositiveFloat = 1.0  # keepalived vrrp_script default interval
    track_fall: PositiveInt = 1            # keepalived default


class HealthCheck(Strict):
    """HAProxy active health checks of the app servers (`check` on each server line)."""
    inter_s: PositiveFloat = 2.0             # HAProxy default
    fastinter_s: Optional[PositiveFloat] = None  # default: inter
    downinter_s: Optional[PositiveFloat] = None  # default: inter
    rise: PositiveInt = 2                    # HAProxy default
    fall: PositiveInt = 3                    # HAProxy default
    timeout_s: Optional[PositiveFloat] = None    # "timeout check"; unset: inter bounds the check
    retries: int = Field(default=3, ge=0)    # HAProxy default: connection retries per request
    redispatch: bool = False                 # doc's config has no "option redispatch"

    @model_validator(mode="after")
    def _resolve(self):
        self.fastinter_s = self.fastinter_s or self.inter_s
        self.downinter_s = self.downinter_s or self.inter_s
        self.timeout_s = self.timeout_s or self.inter_s
        return self


class Autoscaler(Strict):
    """The document's scaling rules. An app server's memory is modelled as a base plus a share per
    request it holds (assumptions: the document gives the thresholds, not the sizes)."""
    enabled: bool = False
    period_s: PositiveFloat = 10.0           # assumption: how often the rules are evaluated
    cpu_up: float = 0.80                     # doc: CPU > 80% for 2 min
    cpu_up_for_s: PositiveFloat = 120
    queue_up: float = 100                    # doc: request queue > 100 for 1 min
    queue_up_for_s: PositiveFloat = 60
    latency_up_ms: float = 500               # doc: response time > 500 ms for 5 min
    latency_up_for_s: PositiveFloat = 300
    memory_up: float = 0.85                  # doc: memory > 85% for 2 min
    memory_up_for_s: PositiveFloat = 120
    memory_down: float = 0.60                # doc: scale down needs memory < 60% too
    memory_mb: PositiveFloat = 4096          # assumption: an app server's memory
    memory_base_mb: float = Field(default=1536, ge=0)  # assumption: runtime, code, caches
    memory_per_request_mb: float = Field(default=16, ge=0)  # assumption: per request held
    cpu_down: float = 0.50                   # doc: CPU < 50% (and queue < 10) for 10 min
    queue_down: float = 10
    down_for_s: PositiveFloat = 600
    cooldown_s: PositiveFloat = 300          # doc: 5 min
    step: PositiveInt = 1                    # servers added or removed per action
    boot_s: PositiveFloat = 90               # assumption: instance boot and app warm-up
    replace_unhealthy_after_s: PositiveFloat = 60  # assumption: a down server is replaced


class Sentinel(Strict):
    down_after_ms: PositiveFloat = 5000      # doc
    quorum: PositiveInt = 2                  # doc
    failover_timeout_ms: PositiveFloat = 10000  # doc
    parallel_syncs: PositiveInt = 1          # doc
    ping_period_s: PositiveFloat = 1.0       # Redis: PING every second
    info_period_s: PositiveFloat = 1.0       # Redis: INFO to a replica every second in a failover
    info_calm_period_s: PositiveFloat = 10.0  # Redis: SENTINEL_INFO_PERIOD, INFO every 10 s otherwise
    max_desync_s: PositiveFloat = 1.0        # Redis: SENTINEL_MAX_DESYNC, spreads failover retries
    replica_sync_s: PositiveFloat = 1.0      # assumption: a replica's resync to the new master
    client_discovery_s: PositiveFloat = 0.05  # assumption: a client asks the Sentinels again


# The engines keep the last 60 s of acknowledged writes (sim.engines.replication.KEEP_S) to count
# those a failover loses: a replication lag is at most half of that.
MAX_LAG_MS = 30_000


class Replication(Strict):
    """Redis asynchronous replication and persistence."""
    lag_ms: float = Field(default=1.0, ge=0, le=MAX_LAG_MS)  # assumption: shipping delay before a replica applies
    min_replicas_to_write: int = Field(default=0, ge=0)  # Redis default: off
    min_replicas_max_lag_s: PositiveFloat = 10  # Redis default
    wait_replicas: int = Field(default=0, ge=0)  # WAIT n after each write: acked when applied on n
    appendfsync: Literal["always", "everysec", "no"] = "everysec"  # doc: RDB + AOF (everysec)


class CircuitBreaker(Strict):
    """The app's breaker around Redis: on failures it sends session traffic to PostgreSQL."""
    enabled: bool = True                     # doc: PostgreSQL is the fallback path
    failure_threshold: PositiveInt = 20      # assumption: consecutive Redis failures that open it
    reset_timeout_s: PositiveFloat = 10      # assumption: open this long before one trial call


class PgFailover(Strict):
    mode: Literal["health_check", "patroni"] = "health_check"
    health_check_period_s: PositiveFloat = 30  # doc: "health check every 30 seconds"
    ttl_s: PositiveFloat = 30                  # Patroni default
    loop_wait_s: PositiveFloat = 10            # Patroni default
    promote_s: PositiveFloat = 2               # assumption: pg_promote and reconnecting pools
    synchronous: bool = False                  # doc diagram: streaming (asynchronous) replicas
    lag_ms: float = Field(default=5.0, ge=0, le=MAX_LAG_MS)  # assumption: streaming replication delay


class AlertRule(Strict):
    """`up`: a target is down; `redis_memory_ratio`: used / maxmemory above `above`;
    `pg_replication_lag_s`: a replica's replay lag above `above` seconds."""
    target: Literal["redis_any", "pg_any", "lb_any", "app_any"]
    for_s: float = Field(ge=0)
    metric: Literal["up", "redis_memory_ratio", "pg_replication_lag_s"] = "up"
    above: float = 0.0

    @field_validator("above")
    @classmethod
    def _lag_within_the_commits_kept(cls, above: float, info):
        # the lag is read off the commits of the last 60 s, as a failover's lost writes are
        if info.data.get("metric") == "pg_replication_lag_s" and not 0 <= above <= MAX_LAG_MS / 1000:
            raise ValueError(f"a replication lag threshold is 0 to {MAX_LAG_MS / 1000:g} s")
        return above


class Alerts(Strict):
    """Prometheus: targets scraped and rules evaluated every 15 s; a rule fires once its
    condition has held for `for_s` at an evaluation (doc: RedisDown for 30 s, DatabaseDown 1 min)."""
    evaluation_interval_s: PositiveFloat = 15  # doc
    rules: dict[str, AlertRule] = {
        "RedisDown": AlertRule(target="redis_any", for_s=30),
        "DatabaseDown": AlertRule(target="pg_any", for_s=60),
        # doc: redis_memory_used_bytes / redis_memory_max_bytes > 0.9 for 5m
        "RedisHighMemoryUsage": AlertRule(target="redis_any", for_s=300, metric="redis_memory_ratio", above=0.9),
        # doc: pg_replication_lag_seconds > 10 for 2m
        "DatabaseReplicationLag": AlertRule(target="pg_any", for_s=120, metric="pg_replication_lag_s", above=10)}


class Mechanisms(Strict):
    vrrp: Vrrp = Vrrp()
    health_check: HealthCheck = HealthCheck()
    autoscaler: Autoscaler = Autoscaler()
    sentinel: Sentinel = Sentinel()
    replication: Replication = Replication()
    circuit_breaker: CircuitBreaker = CircuitBreaker()
    pg_failover: PgFailover = PgFailover()
    alerts: Alerts = Alerts()


class Incidents(Strict):
    """How incidents are measured and priced."""
    matrix: bool = False  # True: each failure runs alone (the failure matrix); False: all together
    claims: str = Field(default="doc-failure-matrix", pattern=FILE_OR_NAME)  # data/claims/<name>.yaml or a .yaml path
    revenue_usd_per_hour: float = Field(default=50_000, ge=0)  # doc
    rto_sustain_s: PositiveFloat = 10  # back within objectives for this long counts as recovered
    bin_s: float = Field(default=0.1, ge=0.01, le=1)  # time resolution of downtime and RTO

    @model_validator(mode="after")
    def _bins_fill_seconds(self):
        if self.bin_s > 1 or abs(1 / self.bin_s - round(1 / self.bin_s)) > 1e-9:
            raise FieldError(("bin_s",), "bin_s must divide a second evenly (0.1, 0.2, 0.25, 0.5, 1)")
        return self
