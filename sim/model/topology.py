"""The nodes of an architecture, built from its scenario, each a named station with a price kind."""
from __future__ import annotations

from dataclasses import dataclass, field

import simpy

from sim.model import path
from sim.model.schema import Scenario
from sim.engines.station import Station


@dataclass
class AppServer:
    name: str
    workers: Station  # a request holds a worker from start to end (sync workers)
    cpu: Station      # and a core while it computes

    @property
    def stations(self):
        return [self.workers, self.cpu]

    @property
    def running(self) -> bool:
        """An instance exists (billed), whatever its health; "off" is a slot the autoscaler may fill."""
        return self.workers.state != "off"

    def set_state(self, state: str):
        for station in self.stations:
            station.set_state(state)


@dataclass
class Nodes:
    lbs: list[Station]
    apps: list[AppServer]
    redis: list[Station] = field(default_factory=list)      # redis-1 starts as master
    postgres: list[Station] = field(default_factory=list)   # pg-1 starts as primary
    shards: list[Station] = field(default_factory=list)     # the db_fleet's servers
    sentinels: int = 0
    tiers: dict[str, list[Station]] = field(default_factory=dict)  # sim.model.path.TIERS present

    def stations(self) -> list[Station]:
        out = list(self.lbs)
        for app in self.apps:
            out += app.stations
        out += self.redis + self.postgres + self.shards
        for stations in self.tiers.values():
            out += stations
        return out

    def price_kinds(self, app_servers: float) -> dict[str, float]:
        """Node counts by price kind, joined with a price file by name; app servers as given (the
        autoscaler makes their count a time average)."""
        kinds = {"load_balancer": len(self.lbs), "app_server": app_servers,
                 "redis_master": min(len(self.redis), 1), "redis_replica": max(len(self.redis) - 1, 0),
                 "redis_sentinel": self.sentinels,
                 "pg_primary": min(len(self.postgres), 1), "pg_replica": max(len(self.postgres) - 1, 0),
                 "db_server": len(self.shards)}
        kinds |= {name: len(stations) for name, stations in self.tiers.items()}
        return {k: v for k, v in kinds.items() if v}


def _app_server(env, i: int, scenario: Scenario) -> AppServer:
    cfg = scenario.topology.app_servers
    name = f"app-{i}"
    return AppServer(name, Station(env, name, "app_server", cfg.workers, cfg.max_queue),
                     Station(env, f"{name}/cpu", "app_cpu", cfg.cores))


def build(env: simpy.Environment, scenario: Scenario) -> Nodes:
    """The nodes; with the autoscaler on, app servers up to max_count, those past count "off"."""
    t = scenario.topology
    lb, apps = t.load_balancers, t.app_servers
    slots = apps.max_count if scenario.mechanisms.autoscaler.enabled else apps.count
    nodes = Nodes(lbs=[Station(env, f"lb-{i + 1}", "load_balancer", lb.maxconn) for i in range(lb.count)],
                  apps=[_app_server(env, i + 1, scenario) for i in range(slots)])
    for app in nodes.apps[apps.count:]:
        app.set_state("off")
    if t.redis is not None:
        nodes.redis = [Station(env, f"redis-{i + 1}", "redis", 1) for i in range(1 + t.redis.replicas)]
        nodes.sentinels = t.redis.sentinels
    if t.postgres is not None:
        nodes.postgres = [Station(env, f"pg-{i + 1}", "postgres", t.postgres.connections)
                          for i in range(1 + t.postgres.replicas)]
    if t.db_fleet is not None:
        nodes.shards = [Station(env, f"db-{i + 1}", "db_server", t.db_fleet.connections)
                        for i in range(t.db_fleet.servers)]
    for tier in path.TIERS:
        cfg = tier.section(t)
        if cfg is not None:
            nodes.tiers[tier.name] = [Station(env, f"{tier.name}-{i + 1}", tier.name, tier.capacity(cfg))
                                      for i in range(tier.nodes(cfg))]
    return nodes

