"""Random numbers: one seed per run, a named child stream per purpose, samples drawn in blocks."""
from __future__ import annotations

import json
import os
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from sim.model.schema import Dist

BLOCK = 4096


class Streams:
    """Independent generators keyed by (seed, replication, purpose name)."""

    def __init__(self, seed: int, replication: int):
        self.seed, self.replication = seed, replication

    def rng(self, name: str) -> np.random.Generator:
        key = (self.replication, zlib.crc32(name.encode()))
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key)))


SAMPLE_LIMITS = {"file_bytes": 32 << 20, "samples": 1_000_000, "max_ms": 3.6e6}


def _reject_constant(name):
    raise ValueError(f"{name} is not a number of ms")


def _samples_from_json(text: str, key: str | None) -> list:
    node = json.loads(text, parse_constant=_reject_constant)
    walked = []
    for part in key.split(".") if key else []:
        walked.append(part)
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise ValueError(f"no key {'.'.join(walked)!r} in the file")
    if isinstance(node, dict) and isinstance(node.get("samples"), list):
        node = node["samples"]  # a calibration entry: {"mean": ..., "samples": [...]}
    if not isinstance(node, list):
        raise ValueError(f"expected a list of samples in ms at key {key or '(top level)'!r}, "
                         f"found a {type(node).__name__}")
    return node


def _samples_from_text(text: str) -> list:
    values = []
    for number, line in enumerate(text.splitlines(), 1):
        for token in line.split("#", 1)[0].replace(",", " ").split():
            try:
                values.append(float(token))
            except ValueError:
                raise ValueError(f"line {number}: {token[:40]!r} is not a number of ms") from None
            if len(values) > SAMPLE_LIMITS["samples"]:
                raise ValueError(f"more than {SAMPLE_LIMITS['samples']:,} samples")
    return values


@lru_cache(maxsize=64)
def _read_samples(file: str, key: str | None, mtime_ns: int) -> np.ndarray:
    from sim.model.yamlio import decode, read_bytes
    path = Path(file)
    text = decode(read_bytes(path, SAMPLE_LIMITS["file_bytes"], "sample file"), path)
    values = _samples_from_json(text, key) if path.suffix == ".json" else _samples_from_text(text)
    if len(values) > SAMPLE_LIMITS["samples"]:
        raise ValueError(f"more than {SAMPLE_LIMITS['samples']:,} samples")
    if not values:
        raise ValueError("no samples")
    bad = next((v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))
                or not 0 <= v <= SAMPLE_LIMITS["max_ms"]), None)  # NaN and inf fail too
    if bad is not None:
        raise ValueError(f"expected finite samples in ms between 0 and {SAMPLE_LIMITS['max_ms']:g}, "
                         f"found {str(bad)[:40]!r}")
    return np.asarray(values, dtype=float) / 1000.0


def empirical_samples(file: str, key: str | None, where=None) -> np.ndarray:
    """Samples in seconds, from a text file of ms values (whitespace, commas, # comments) or a
    JSON file at a dotted key. A regular file of at most 32 MB holding at most 1M finite
    samples between 0 and an hour; else InputError naming `where` (file, line, field) when
    given, the sample file otherwise."""
    from sim.model.errors import printable
    from sim.model.yamlio import InputError
    where = where or (file, None, "")
    try:
        mtime = os.stat(file).st_mtime_ns
    except (OSError, ValueError):
        mtime = 0
    try:
        return _read_samples(file, key, mtime)
    except InputError as exc:
        raise InputError(*where, f"cannot read samples in ms from {printable(file)}: "
                                 f"{exc.message}") from None
    except (ValueError, RecursionError) as exc:
        at = f" at key {key}" if key else ""
        raise InputError(*where, f"cannot read samples in ms from {printable(file)}{at}: {exc}") from None


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
