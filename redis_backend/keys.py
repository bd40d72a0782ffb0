"""Key safety: our own prefix, refuse a non-empty database, delete exactly what we wrote.

Never FLUSHDB / FLUSHALL: the target may be somebody's real Redis. Cleanup deletes the
keys we recorded, then SCANs for our (per-run, random) prefix to catch anything missed. It
runs shielded from further signals, keeps trying for CLEANUP_PATIENCE_S when the server stops
answering, and notes in the ledger (cleanup.py) what it deleted or what it had to leave, with
the command that removes it later. Every key we write carries a TTL (operations.py), so even
the keys of a SIGKILLed run vanish on their own; `calibrate --cleanup` removes them sooner.
"""
from __future__ import annotations

import re
import secrets
import threading
import time

import redis

from . import cleanup
from .target import BackendError

PREFIX_ROOT = "ssim"
RUN_PREFIX = re.compile(rf"^{PREFIX_ROOT}:[0-9a-f]{{8}}:")  # what KeySpace hands out
DELETE_BATCH = 500
CLEANUP_PATIENCE_S = 10.0


class RefusedError(BackendError):
    """The target holds data we did not write and --force was not given."""


def refuse_non_empty(client: redis.Redis, force: bool, what: str) -> None:
    keys = client.dbsize()
    if keys and not force:
        ours = len(leftovers(client))
        hint = (f"; {ours} of them are sessionsim's, left by an earlier run (remove them with "
                "`python simulate.py calibrate --cleanup --redis URL`)" if ours else "")
        raise RefusedError(f"{what} is not empty ({keys} keys{hint}); refusing to write to it "
                           "(use --force to run anyway: only our own keys are written and deleted)")


def leftovers(client: redis.Redis) -> list[str]:
    """Keys of any sessionsim run (ssim:<8 hex>:...), found by SCAN."""
    found = (k.decode() if isinstance(k, bytes) else k
             for k in client.scan_iter(match=f"{PREFIX_ROOT}:*", count=1000))
    return [k for k in found if RUN_PREFIX.match(k)]


def remove_leftovers(client: redis.Redis) -> dict[str, int]:
    """`calibrate --cleanup`: delete every earlier run's keys; keys deleted per prefix."""
    by_prefix: dict[str, list[str]] = {}
    for name in leftovers(client):
        by_prefix.setdefault(RUN_PREFIX.match(name).group(0), []).append(name)
    return {prefix: _delete(client, names) for prefix, names in sorted(by_prefix.items())}


class KeySpace:
    """Hands out keys under a random per-run prefix and remembers every one handed out.

    Thread-safe: workers call key() concurrently. `target` (a masked URL) names the server
    in what the ledger says."""

    def __init__(self, client: redis.Redis, target: str = "the Redis database",
                 run_id: str | None = None):
        self.client = client
        self.target = target
        self.prefix = f"{PREFIX_ROOT}:{run_id or secrets.token_hex(4)}:"
        self._written: set[str] = set()
        self._lock = threading.Lock()

    def key(self, *parts: object) -> str:
        name = self.prefix + ":".join(str(p) for p in parts)
        if name not in self._written:
            with self._lock:
                self._written.add(name)
        return name

    def ours(self) -> list[str]:
        """Keys with our prefix that exist now (SCAN, never KEYS)."""
        pattern = _glob_escape(self.prefix) + "*"
        return [k.decode() if isinstance(k, bytes) else k
                for k in self.client.scan_iter(match=pattern, count=1000)]

    def cleanup(self, patience_s: float | None = None) -> int:
        """Delete what we wrote, retrying while the server does not answer; return the number
        of keys deleted. Raises the last error if the keys could not be deleted in time."""
        with self._lock:
            names = sorted(self._written)
        patience_s = CLEANUP_PATIENCE_S if patience_s is None else patience_s
        deleted, deadline = 0, time.monotonic() + patience_s
        while True:
            try:
                deleted += _delete(self.client, names)
                names = []
                deleted += _delete(self.client, self.ours())
                break
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if time.monotonic() > deadline:
                    self._note_left(len(names), exc)
                    raise
                time.sleep(0.5)
        with self._lock:
            self._written.clear()
        cleanup.note(f"deleted our {deleted:,} keys under {self.prefix} in {self.target}")
        return deleted

    def _note_left(self, written: int, exc: Exception) -> None:
        cleanup.note(
            f"could not delete our keys under {self.prefix} in {self.target} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            f"{f'up to {written:,}' if written else 'some'} keys may remain; each expires "
            f"within a day (session keys within an hour); remove them now with `python simulate.py calibrate --cleanup --redis "
            f"{self.target}`")

    def __enter__(self) -> KeySpace:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        with cleanup.shielded():  # a second signal never cuts the cleanup short
            try:
                self.cleanup()
            except redis.RedisError:
                if exc_type is None:
                    raise
                # the error that stopped the run is the one to report; the ledger says the rest


def _delete(client: redis.Redis, names: list[str]) -> int:
    deleted = 0
    for start in range(0, len(names), DELETE_BATCH):
        deleted += client.delete(*names[start:start + DELETE_BATCH])
    return deleted


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
