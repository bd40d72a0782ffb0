"""The control plane: which node holds which role, which nodes take traffic, where a request goes.

The request path only asks; failure mechanisms (health checks, Sentinel, VRRP, autoscaler)
change the answers over time by changing this state.
"""
from __future__ import annotations

from sim.schema import Scenario
from sim.station import Station
from sim.topology import AppServer, Nodes


class ControlPlane:
    def __init__(self, scenario: Scenario, nodes: Nodes):
        self.nodes = nodes
        self.balance = scenario.topology.load_balancers.balance
        self.vip_holder: Station | None = nodes.lbs[0]  # the floating IP's current owner
        self.in_rotation: list[AppServer] = list(nodes.apps)  # what the balancer sends to
        self.redis_master: Station | None = nodes.redis[0] if nodes.redis else None
        self.pg_primary: Station | None = nodes.postgres[0] if nodes.postgres else None
        pg = scenario.topology.postgres
        self.pg_readers: list[Station] = nodes.postgres[1:1 + pg.read_replicas] if pg else []
        self._rr_app = 0
        self._rr_read = 0

    @property
    def redis_replicas(self) -> list[Station]:
        return [r for r in self.nodes.redis if r is not self.redis_master]

    def pick_app(self) -> AppServer | None:
        servers = self.in_rotation
        if not servers:
            return None
        if self.balance == "leastconn":
            return min(servers, key=lambda a: a.workers.in_system)
        self._rr_app = (self._rr_app + 1) % len(servers)
        return servers[self._rr_app]

    def session_store(self, u: float) -> Station | None:
        """The Redis master, or in a db_fleet the shard owning the session (u: its hash in [0, 1))."""
        if self.nodes.shards:
            return self.nodes.shards[int(u * len(self.nodes.shards))]
        return self.redis_master

    def db_reader(self, u: float) -> Station | None:
        """Reads balance over the read replicas that are up, else go to the primary."""
        if self.nodes.shards:
            return self.session_store(u)
        readers = [r for r in self.pg_readers if r.up]
        if not readers:
            return self.pg_primary
        self._rr_read = (self._rr_read + 1) % len(readers)
        return readers[self._rr_read]

    def db_writer(self, u: float) -> Station | None:
        if self.nodes.shards:
            return self.session_store(u)
        return self.pg_primary
