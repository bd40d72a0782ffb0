"""Key safety: our own prefix, refuse a non-empty database, delete exactly what we wrote.

Never FLUSHDB / FLUSHALL: the target may be somebody's real Redis. Cleanup deletes the
keys we recorded, then SCANs for our (per-run, random) prefix to catch anything missed.
"""
from __future__ import annotations

import secrets
import threading

import redis

from .target import BackendError

PREFIX_ROOT = "ssim"
DELETE_BATCH = 500


class RefusedError(BackendError):
    """The target holds data we did not write and --force was not given."""


def refuse_non_empty(client: redis.Redis, force: bool, what: str) -> None:
    keys = client.dbsize()
    if keys and not force:
        raise RefusedError(f"{what} is not empty ({keys} keys); refusing to write to it "
                           "(use --force to run anyway: only our own keys are written and deleted)")


class KeySpace:
    """Hands out keys under a random per-run prefix and remembers every one handed out.

    Thread-safe: workers call key() concurrently."""

    def __init__(self, client: redis.Redis, run_id: str | None = None):
        self.client = client
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

    def cleanup(self) -> int:
        """Delete what we wrote; return the number of keys deleted."""
        with self._lock:
            names = sorted(self._written)
            self._written.clear()
        deleted = _delete(self.client, names)
        return deleted + _delete(self.client, self.ours())

    def __enter__(self) -> KeySpace:
        return self

    def __exit__(self, *exc) -> None:
        # Runs on KeyboardInterrupt too; a second Ctrl-C during cleanup is not swallowed.
        self.cleanup()


def _delete(client: redis.Redis, names: list[str]) -> int:
    deleted = 0
    for start in range(0, len(names), DELETE_BATCH):
        deleted += client.delete(*names[start:start + DELETE_BATCH])
    return deleted


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
