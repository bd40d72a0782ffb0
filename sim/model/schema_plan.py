"""The `plan:` section of a scenario: the design space the planner searches (sim.study.plan)."""
from __future__ import annotations

from typing import Optional

from pydantic import Field, field_validator

from sim.model.schema_failures import Strict

# Fields the planner may change; more of any of MONOTONE never makes the fleet slower (the
# pruning rule: a fleet smaller in every one of them than an infeasible one is infeasible).
SHAPE = "topology.app_servers.shape"
MONOTONE = ("topology.app_servers.count", SHAPE, "topology.redis.replicas",
            "topology.postgres.connections", "topology.postgres.replicas")
PLANNABLE = MONOTONE + ("topology.app_servers.workers", "topology.redis.sentinels",
                        "topology.load_balancers.maxconn", "topology.load_balancers.count")
SETTINGS = "mechanisms."  # settings a plan may choose too: they cost nothing, and are not monotone
TARGETS = ("rto_s", "impaired_s", "lost_writes", "lost_writes_span_s")


class Plan(Strict):
    # data/hardware/<name>.yaml (or a .yaml path): instance shapes, joined by name with a price file
    hardware: str = "doc-ha"
    # dotted field -> the values it may take (SHAPE: names of the catalogue's shapes)
    space: dict[str, list] = Field(min_length=1)
    # the failures of the scenario that a plan must survive (default: all of them)
    failures: Optional[list[str]] = None
    # the claims file's figures judged per failure: RTO, RPO and impaired time by default
    targets: list[str] = list(TARGETS)
    alternatives: int = Field(default=2, ge=0)  # feasible plans beyond the cheapest
    confirm_seed: int = Field(default=1_000_003, ge=0)  # the chosen plan's fresh run

    @field_validator("space")
    @classmethod
    def _known(cls, space):
        unknown = sorted(p for p in space if p not in PLANNABLE and not p.startswith(SETTINGS))
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; expected some of: {', '.join(PLANNABLE)}, "
                             f"or a setting under {SETTINGS}")
        if any(not values for values in space.values()):
            raise ValueError("every field of the space needs at least one value")
        return space

    @field_validator("targets")
    @classmethod
    def _targets(cls, targets):
        unknown = sorted(set(targets) - set(TARGETS))
        if unknown:
            raise ValueError(f"unknown target(s) {unknown}; expected some of: {', '.join(TARGETS)}")
        return targets
