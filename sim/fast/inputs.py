"""What the compiled loop consumes: arrivals, and samples drawn ahead in pools, one per named
stream. Arrivals are drawn exactly as the reference engine draws them (the same streams, in
one-second chunks): for the same seed both engines see the same requests."""
from __future__ import annotations

import numpy as np

from sim.schema import Dist, Scenario
from sim.streams import Streams, draw
from sim.workload import OperationChooser, arrival_times, rate_curve

POOL = 1 << 16  # samples kept per stream


class Arrivals:
    """The reference's arrival process (sim.engine._arrivals), `span_s` seconds at a time."""

    def __init__(self, scenario: Scenario, streams: Streams):
        self.curve = rate_curve(scenario.workload.arrivals)
        self.rng = streams.rng("arrivals")
        self.chooser = OperationChooser(scenario.workload, streams.rng("mix"))
        self.end = scenario.simulation.duration_s
        self.t = 0.0

    def next(self, span_s: float) -> tuple[np.ndarray, np.ndarray, float]:
        """(times, operation indices, the time up to which arrivals are now drawn)."""
        times, ops = [], []
        stop = min(self.t + span_s, self.end)
        while self.t < stop:
            chunk_end = min(self.t + 1.0, self.end)
            t = arrival_times(self.curve, self.rng, self.t, chunk_end)
            times.append(t)
            ops.append(self.chooser.draw(len(t)))
            self.t = chunk_end
        if not times:
            return np.empty(0), np.empty(0, np.int64), self.t
        return np.concatenate(times), np.concatenate(ops).astype(np.int64), self.t


class Pools:
    """One pool of samples (seconds) per named stream; `None` as a distribution draws uniforms
    in [0, 1) (the session hash)."""

    def __init__(self, streams: Streams, named: dict[str, Dist | None]):
        self.names = list(named)
        self.dists = list(named.values())
        self.rngs = [streams.rng(name) for name in self.names]
        n = len(self.names)
        self.values = np.zeros((n, POOL))
        self.cursor = np.full(n, POOL, dtype=np.int64)
        self.const = np.array([d.mean_ms / 1000 if d is not None and d.dist == "deterministic"
                               else np.nan for d in self.dists])
        self.refill()

    def index(self, name: str) -> int:
        return self.names.index(name)

    def refill(self):
        """Keeps the samples not yet used, in order, and draws the pools full again."""
        for i, (dist, rng) in enumerate(zip(self.dists, self.rngs)):
            used = int(self.cursor[i])
            if used == 0 or self.const[i] == self.const[i]:
                continue
            left = POOL - used
            self.values[i, :left] = self.values[i, used:]
            self.values[i, left:] = rng.random(used) if dist is None else draw(dist, rng, used)
            self.cursor[i] = 0


def pool_streams(scenario: Scenario) -> dict[str, Dist | None]:
    """The reference engine's stream names (sim.request_path, sim.engine), each with its
    distribution."""
    t, ops = scenario.topology, scenario.workload.operations
    db = t.db_fleet or t.postgres
    named = {"service/lb": t.load_balancers.service, "service/net/lb-app": t.network.lb_app_rtt,
             "service/net/app-redis": t.network.app_redis_rtt, "service/net/app-db": t.network.app_db_rtt,
             "route/session": None}
    named |= {f"service/cpu/{name}": op.cpu for name, op in ops.items()}
    if t.redis:
        named |= {"service/redis/roundtrip": t.redis.roundtrip_service,
                  "service/redis/command": t.redis.command_service,
                  "service/replication": t.redis.command_service}
    if db:
        named |= {"service/db/write": db.write_service, "service/db/read": db.read_service}
    return named
