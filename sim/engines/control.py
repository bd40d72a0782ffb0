"""The control plane: which node holds which role, which nodes take traffic, where a request goes.

The request path only asks; failure mechanisms (health checks, Sentinel, VRRP, autoscaler,
PostgreSQL failover) change the answers over time, and log what they did.
"""
from __future__ import annotations

import simpy

from sim.model.schema import Scenario
from sim.engines.station import Station
from sim.model.topology import AppServer, Nodes


class ControlPlane:
    def __init__(self, env: simpy.Environment, scenario: Scenario, nodes: Nodes):
        self.env, self.nodes = env, nodes
        self.balance = scenario.topology.load_balancers.balance
        self.vip_holder: Station | None = nodes.lbs[0]  # the floating IP's current owner
        self.in_rotation: list[AppServer] = [a for a in nodes.apps if a.running]  # what the balancer sends to
        self.marked_down: dict[str, float] = {}  # app servers the health checks took out, since when
        self.redis_master: Station | None = nodes.redis[0] if nodes.redis else None  # clients' view
        self.linked: set = set(nodes.redis[1:])  # replicas replicating from the master
        self.pg_primary: Station | None = nodes.postgres[0] if nodes.postgres else None
        pg = scenario.topology.postgres
        self.pg_readers: list[Station] = nodes.postgres[1:1 + pg.read_replicas] if pg else []
        # (time, source, what happened, mark): mark "detected" or "action" times the incident
        self.events: list[tuple[float, str, str, str | None]] = []
        self.lost_writes: list[dict] = []  # acknowledged writes a failover or restart lost
        self._rr_app = 0
        self._rr_read = 0

    def log(self, source: str, event: str, mark: str | None = None):
        self.events.append((self.env.now, source, event, mark))

    def lose(self, store: str, count: int, span_s: float, cause: str):
        self.lost_writes.append({"t": self.env.now, "store": store, "count": count,
                                 "span_s": span_s, "cause": cause})

    def replica_linked(self, replica: Station) -> bool:
        return replica in self.linked

    def good_replicas(self) -> int:
        """Replicas up and streaming from the master (min-replicas-to-write, WAIT)."""
        return sum(1 for r in self.linked if r.up)

    def pick_app(self) -> AppServer | None:
        servers = self.in_rotation
        if not servers:
            return None
        if self.balance == "leastconn":
            return min(servers, key=lambda a: a.workers.in_system)
        self._rr_app = (self._rr_app + 1) % len(servers)
        return servers[self._rr_app]

    def session_store(self, u: float) -> Station | None:
        """The shard owning the session in a db_fleet (u: its hash in [0, 1))."""
        return self.nodes.shards[int(u * len(self.nodes.shards))]

    def db_reader(self, u: float) -> Station | None:
        """Reads balance over the read replicas that are up, else go to the primary."""
        if self.nodes.shards:
            return self.session_store(u)
        readers = [r for r in self.pg_readers if r.up and r is not self.pg_primary]
        if not readers:
            return self.pg_primary
        self._rr_read = (self._rr_read + 1) % len(readers)
        return readers[self._rr_read]

    def db_writer(self, u: float) -> Station | None:
        if self.nodes.shards:
            return self.session_store(u)
        return self.pg_primary
