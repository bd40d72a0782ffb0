"""What the compiled loop consumes besides the arrivals (sim.model.workload.ArrivalStream): samples
drawn ahead in pools, one per named stream."""
from __future__ import annotations

import numpy as np

from sim.model import path
from sim.model.schema import Dist, Scenario
from sim.engines.streams import Streams, draw

POOL = 1 << 18  # samples kept per stream


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
    """The request path's streams (sim.model.path), each with its distribution."""
    return path.streams(scenario.topology, scenario.workload.operations)
