"""Random numbers: one seed per run, a named child stream per purpose, samples drawn in blocks."""
from __future__ import annotations

import json
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from sim.schema import Dist

BLOCK = 4096


class Streams:
    """Independent generators keyed by (seed, replication, purpose name)."""

    def __init__(self, seed: int, replication: int):
        self.seed, self.replication = seed, replication

    def rng(self, name: str) -> np.random.Generator:
        key = (self.replication, zlib.crc32(name.encode()))
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key)))


@lru_cache(maxsize=64)
def empirical_samples(file: str, key: str | None) -> np.ndarray:
    """Samples in seconds, from a text file of ms values or a JSON file at a dotted key."""
    path = Path(file)
    if path.suffix == ".json":
        node = json.loads(path.read_text())
        for part in (key or "").split(".") if key else []:
            node = node[part]
        values = np.asarray(node, dtype=float)
    else:
        values = np.loadtxt(path, dtype=float, ndmin=1)
    if values.size == 0 or np.any(values < 0):
        raise ValueError(f"{file}: expected non-negative samples in ms")
    return values / 1000.0


def draw(dist: Dist, rng: np.random.Generator, n: int) -> np.ndarray:
    """n samples, in seconds."""
    if dist.dist == "empirical":
        return rng.choice(empirical_samples(dist.file, dist.key), size=n)
    mean = dist.mean_ms / 1000.0
    if dist.dist == "deterministic":
        return np.full(n, mean)
    if dist.dist == "exponential":
        return rng.exponential(mean, n)
    if dist.dist == "gamma":
        shape = 1.0 / dist.cv ** 2
        return rng.gamma(shape, mean / shape, n)
    sigma2 = np.log1p(dist.cv ** 2)  # lognormal with the given mean and cv
    return rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), n)


def mean_s(dist: Dist) -> float:
    if dist.dist == "empirical":
        return float(empirical_samples(dist.file, dist.key).mean())
    return dist.mean_ms / 1000.0


class Sampler:
    """Callable returning the next sample (seconds); refills a block at a time."""
    __slots__ = ("_dist", "_rng", "_it", "_const")

    def __init__(self, dist: Dist, rng: np.random.Generator):
        self._dist, self._rng = dist, rng
        self._const = dist.mean_ms / 1000.0 if dist.dist == "deterministic" else None
        self._it = iter(())

    def __call__(self) -> float:
        if self._const is not None:
            return self._const
        for value in self._it:
            return value
        self._it = iter(draw(self._dist, self._rng, BLOCK).tolist())
        return next(self._it)
