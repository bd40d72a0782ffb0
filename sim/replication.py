"""Asynchronous replication: each replica applies the master's write stream in small batches."""
from __future__ import annotations

import simpy

from sim.control import ControlPlane
from sim.request_path import RequestPath
from sim.schema import Redis
from sim.streams import Sampler


def replica_loop(env: simpy.Environment, replica, control: ControlPlane, path: RequestPath,
                 cfg: Redis, command_service: Sampler):
    """Every tick the replica takes the commands written since its last batch and applies them,
    one command at a time on its single thread: its load is the master's write stream."""
    applied = path.redis_commands_written
    while True:
        yield env.timeout(cfg.replication_tick_s)
        if not replica.up or replica is control.redis_master:
            continue
        pending = path.redis_commands_written - applied
        if pending:
            applied += pending
            yield from replica.serve(sum(command_service() for _ in range(pending)))
