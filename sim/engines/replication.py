"""Asynchronous replication: a log of acknowledged writes, and replicas applying the stream."""
from __future__ import annotations

from collections import deque

import simpy

from sim.engines.streams import Sampler

KEEP_S = 60.0  # acknowledgement times kept: enough for any lag or fsync window in the scenarios


class WriteLog:
    """Writes acknowledged to clients, with the times the master applied them (the last KEEP_S
    seconds of them; with WAIT they arrive up to a lag out of order, which `between` allows)."""

    def __init__(self):
        self.count = self.commands = 0
        self._times: deque = deque()

    def ack(self, now: float, commands: int = 1):
        self.count += 1
        self.commands += commands
        times = self._times
        times.append(now)
        while times[0] < now - KEEP_S:
            times.popleft()

    def between(self, t0: float, t1: float) -> tuple[int, float]:
        """(writes acknowledged in (t0, t1], the time span from the first of them to t1)."""
        inside = [t for t in self._times if t0 < t <= t1]
        return len(inside), (t1 - inside[0]) if inside else 0.0


def replica_loop(env: simpy.Environment, replica, control, log: WriteLog, tick_s: float,
                 command_service: Sampler):
    """Every tick a linked replica applies the commands written since its last batch, one at a
    time on its single thread: its load is the master's write stream."""
    applied = log.commands
    while True:
        yield env.timeout(tick_s)
        if not replica.up or not control.replica_linked(replica):
            applied = log.commands  # a replica that resyncs starts from a fresh copy
            continue
        pending = log.commands - applied
        if pending:
            applied += pending
            yield from replica.serve(sum(command_service() for _ in range(pending)))
