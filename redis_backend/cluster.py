"""A real master + replicas + Sentinels on loopback, started in a temp dir, stopped by PID."""
from __future__ import annotations

import random
import shutil
import tempfile
import time
from pathlib import Path

import redis

from . import cleanup
from .servers import LOOPBACK, Server, ServerError, start_redis, start_sentinel

READY_TIMEOUT_S = 30.0
# Sentinels started together PING the master in step (each pings a second after its last reply),
# so a hang would find all their clocks at the same point; Sentinels started at different times,
# as in production, are out of step. A random stagger under one PING period restores that.
STAGGER_S = 1.0


class SentinelCluster:
    """Context manager: on exit (also Ctrl-C) every process it started is stopped."""

    def __init__(self, settings: dict, replicas: int = 2, sentinels: int = 3):
        self.settings = settings
        self.n_replicas, self.n_sentinels = replicas, sentinels
        self.master: Server | None = None
        self.replicas: list[Server] = []
        self.sentinels: list[Server] = []
        self.work_dir = Path(tempfile.mkdtemp(prefix="sessionsim-lab-"))

    def __enter__(self) -> SentinelCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def servers(self) -> list[Server]:
        return [s for s in [self.master, *self.replicas, *self.sentinels] if s is not None]

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [(LOOPBACK, s.port) for s in self.sentinels]

    def start(self) -> None:
        self.master = start_redis(self.work_dir)
        for _ in range(self.n_replicas):
            self.replicas.append(start_redis(self.work_dir, "--replicaof", LOOPBACK,
                                             str(self.master.port)))
        # Replicas first, Sentinels after: a Sentinel learns the replicas from the master's
        # INFO, which it re-reads only every 10 s once connected.
        _wait(lambda: self._replicas_synced(), "replicas to sync with the master")
        for i in range(self.n_sentinels):
            if i:
                time.sleep(random.uniform(0, STAGGER_S))
            self.sentinels.append(start_sentinel(self.work_dir, self.master.port,
                                                 self.settings))
        _wait(lambda: self._sentinels_ready(), "Sentinels to see the replicas and each other")

    def stop(self) -> None:
        """Stops every server we started (by PID) and removes the directory; shielded, noted."""
        with cleanup.shielded():
            servers = list(reversed(self.servers))
            for server in servers:
                server.stop()
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.master, self.replicas, self.sentinels = None, [], []
            if servers:
                cleanup.note(f"stopped our {len(servers)} servers (PIDs "
                             f"{', '.join(str(s.pid) for s in servers)}) and removed "
                             f"{self.work_dir}")

    def _replicas_synced(self) -> bool:
        for r in self.replicas:
            with _client(r.port) as c:
                info = c.info("replication")
            if info.get("master_link_status") != "up":
                return False
        return True

    def _sentinels_ready(self) -> bool:
        for s in self.sentinels:
            with _client(s.port) as c:
                state = c.sentinel_master("mymaster")
            if (int(state.get("num-slaves", 0)) < self.n_replicas
                    or int(state.get("num-other-sentinels", 0)) < self.n_sentinels - 1):
                return False
        return True


def _client(port: int) -> redis.Redis:
    return redis.Redis(host=LOOPBACK, port=port, socket_timeout=1.0, decode_responses=True)


def _wait(ready, what: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise ServerError(f"timed out after {timeout_s:.0f} s waiting for {what}")
