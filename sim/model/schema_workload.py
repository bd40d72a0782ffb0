"""The scenario format, part one: the workload (arrivals, operations, sessions) and the
distributions of every service or delay time, with the bounds on sizes every part shares.

"doc" marks a figure of the design document (shared/seed/FACTS.md); "assumption" marks a value
the document does not give and no product default fixes: calibrate it (python simulate.py calibrate).
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from sim.model.schema_failures import FieldError, Strict

# Bounds on sizes: far above any system the tool is meant for, and low enough that a typing slip
# (1e9 cores) is an error here rather than a run that fills the memory. Time and memory of a run
# are checked against the budget (sim/study/budget.py) before it starts.
MAX_NODES = 1_000        # servers of one kind
MAX_SLOTS = 100_000      # cores, workers, connections, queue places of one server
MAX_MS = 3.6e6           # one service time or delay: an hour

class Dist(Strict):
    """A service or delay time. mean_ms everywhere; cv (std/mean) for lognormal and gamma."""
    dist: Literal["deterministic", "exponential", "lognormal", "gamma", "empirical"]
    mean_ms: Optional[float] = Field(default=None, ge=0, le=MAX_MS)
    cv: Optional[float] = Field(default=None, gt=0, le=100)
    # empirical: a text file of samples in ms, or a calibration JSON (relative to the scenario file)
    file: Optional[str] = Field(default=None, min_length=1, max_length=4096)
    key: Optional[str] = Field(default=None, max_length=400)  # empirical from JSON: dotted path to a list of samples in ms

    @model_validator(mode="after")
    def _complete(self):
        if self.dist == "empirical":
            if not self.file:
                raise FieldError(("file",), "empirical needs 'file' (samples in ms)")
        elif self.mean_ms is None:
            raise FieldError(("mean_ms",), f"{self.dist} needs 'mean_ms'")
        if self.dist in ("lognormal", "gamma") and self.cv is None:
            raise FieldError(("cv",), f"{self.dist} needs 'cv' (standard deviation / mean)")
        if self.dist in ("exponential", "lognormal", "gamma") and self.mean_ms == 0:
            raise FieldError(("mean_ms",), f"{self.dist} needs mean_ms > 0")
        return self


def fixed(ms: float) -> Dist:
    return Dist(dist="deterministic", mean_ms=ms)


class RatePoint(Strict):
    at_s: float = Field(ge=0)
    rate_rps: float = Field(ge=0, le=1e7)


class Arrivals(Strict):
    """constant: Poisson at rate_rps. piecewise: rate interpolated linearly between points.
    diurnal: a day of daily_users x requests_per_user, shaped by 24 hourly weights."""
    kind: Literal["constant", "piecewise", "diurnal"] = "constant"
    rate_rps: Optional[float] = Field(default=None, ge=0, le=1e7)
    points: Optional[list[RatePoint]] = Field(default=None, min_length=1, max_length=5_000)
    daily_users: Optional[int] = Field(default=None, gt=0, le=10**10)
    # doc: 1,200 writes/s on average x 86,400 s / 5M daily users = 20.7 requests per user
    requests_per_user: float = Field(default=20.736, gt=0, le=1e6)
    hourly_profile: Optional[list[float]] = None

    @model_validator(mode="after")
    def _complete(self):
        need = {"constant": "rate_rps", "piecewise": "points", "diurnal": "daily_users"}[self.kind]
        if getattr(self, need) is None:
            raise FieldError((need,), f"arrivals of kind {self.kind} need '{need}'")
        if self.kind == "piecewise":
            if self.points[0].at_s != 0:
                raise FieldError(("points", 0, "at_s"), "piecewise points must start at at_s: 0")
            for i in range(1, len(self.points)):
                if self.points[i].at_s < self.points[i - 1].at_s:
                    raise FieldError(("points", i, "at_s"), "piecewise points must be in time order")
        if self.kind == "diurnal":
            prof = self.hourly_profile
            if prof is None or len(prof) != 24 or min(prof) < 0 or sum(prof) <= 0:
                raise FieldError(("hourly_profile",), "diurnal needs hourly_profile: 24 non-negative "
                                                      "weights, not all 0")
        return self


class Operation(Strict):
    """One kind of page request: app CPU, then its calls to the session store and the database."""
    cpu: Dist = fixed(1.0)  # assumption: 1 ms of app CPU per request
    session_commands: int = Field(default=4, ge=0, le=1000)  # doc: the 4-command session pipeline
    pipelined: bool = True  # False: one round trip per command
    session_write: bool = True  # counts as a session write; a DB UPDATE in db_fleet
    db_reads: int = Field(default=0, ge=0, le=1000)   # business-data reads (PostgreSQL)
    db_writes: int = Field(default=0, ge=0, le=1000)  # business-data writes (PostgreSQL primary)


def _default_operations() -> dict[str, Operation]:
    return {
        "session_update": Operation(session_commands=4),  # doc: HSET, HSET, HINCRBY, EXPIRE
        # doc: HSET session (7 fields) + EXPIRE, book: HSET login:, ZADD recent:; user lookup in PG
        "login": Operation(session_commands=4, db_reads=1),
        # book's update_token: HSET login:, ZADD recent:, ZADD viewed:, ZREMRANGEBYRANK, ZINCRBY
        "item_view": Operation(session_commands=5),
        "cart_update": Operation(session_commands=4),  # HSET item, HINCRBY, HSET total, EXPIRE
        "read_only": Operation(session_commands=1, session_write=False),  # HGETALL
        # an order: the cart read and cleared in Redis, the order written to PostgreSQL
        "checkout": Operation(session_commands=2, db_writes=1),
    }


class Sessions(Strict):
    session_ttl_s: float = Field(default=3600, gt=0, le=1e9)      # doc
    cart_ttl_s: float = Field(default=86400, gt=0, le=1e9)        # doc
    max_sessions: int = Field(default=10_000_000, gt=0, le=10**12)  # book: keep the most recent 10M sessions
    visit_duration_s: float = Field(default=600, ge=0, le=1e9)  # assumption: a 10-minute visit
    cart_fraction: float = Field(default=0.2, ge=0, le=1)  # assumption: sessions with a cart


class Workload(Strict):
    arrivals: Arrivals
    # login: doc 58 new sessions/s over 1,200 writes/s = 4.8%; the rest is an assumption
    mix: dict[str, float] = Field(default={"session_update": 0.742, "login": 0.048, "item_view": 0.15,
                                           "cart_update": 0.05, "checkout": 0.01, "read_only": 0.0},
                                  min_length=1, max_length=100)
    operations: dict[str, Operation] = Field(default_factory=_default_operations, max_length=100)
    sessions: Sessions = Sessions()

    @field_validator("operations", mode="before")
    @classmethod
    def _over_defaults(cls, given):
        """Fields of an operation named in the file override that default operation's; the
        default operations the file does not name stay as they are."""
        if not isinstance(given, dict):
            return given
        merged = {name: op.model_dump() for name, op in _default_operations().items()}
        for name, fields in given.items():
            merged[name] = {**merged.get(name, {}), **fields} if isinstance(fields, dict) else fields
        return merged

    @model_validator(mode="after")
    def _mix(self):
        unknown = sorted(set(self.mix) - set(self.operations))
        if unknown:
            raise FieldError(("mix", unknown[0]), f"mix names unknown operations {unknown}; "
                             f"expected names from: {sorted(self.operations)}")
        negative = [k for k, v in self.mix.items() if not v >= 0]
        if negative:
            raise FieldError(("mix", negative[0]), "mix fractions must be >= 0 and sum to 1")
        if not abs(sum(self.mix.values()) - 1) <= 1e-6:
            raise FieldError(("mix",), "mix fractions must be >= 0 and sum to 1")
        return self
