"""Where replications run: a local process pool (the default) or a Dask distributed cluster.

A task is a scenario with a block of replication indices, not one replication, so a scheduler's
overhead (tens of ms a task on Dask) stays small beside the work. Replication r always draws
from the named random streams of (seed, r) (sim.engines.streams), so the figures are the same, bit for
bit, whichever process or machine runs it. Workers collect garbage between tasks: a
replication's raw figures hold arrays of a few MB that a long-lived worker would otherwise keep.
"""
from __future__ import annotations

import gc
import math
import os
from concurrent.futures import ProcessPoolExecutor

from sim.model.errors import UserError
from sim.engines.results import Replication

SCHEDULER_ENV = "SESSIONSIM_SCHEDULER"


def run_block(scenario, start: int, n: int) -> list[Replication]:
    """Replications start .. start + n - 1 of the scenario, one after another, in this process."""
    from sim.study.runner import engine
    run = engine(scenario)
    try:
        return [run(scenario, r, None) for r in range(start, start + n)]
    finally:
        gc.collect()


def blocks(start: int, n: int, slots: int) -> list[tuple[int, int]]:
    """(start, count) blocks covering replications start .. start + n - 1, one per slot at most."""
    size = max(1, math.ceil(n / max(1, slots)))
    return [(s, min(size, start + n - s)) for s in range(start, start + n, size)]


class Executor:
    """Runs blocks of replications; returns their raw figures in order. A context manager."""
    slots = 1

    def replications(self, scenario, start: int, n: int) -> list[Replication]:
        """Replications start .. start + n - 1, split in blocks across the workers."""
        return self.grouped([(scenario, start, n)])[0]

    def run_tasks(self, tasks: list[tuple]) -> list[list[Replication]]:
        raise NotImplementedError

    def grouped(self, jobs: list[tuple]) -> list[list[Replication]]:
        """jobs: (scenario, start, n) each; every job split in blocks, all blocks run together;
        returns each job's replications in order."""
        tasks, owner = [], []
        for j, (scenario, start, n) in enumerate(jobs):
            for s, k in blocks(start, n, self.slots if len(jobs) < self.slots else 1):
                tasks.append((scenario, s, k))
                owner.append(j)
        out: list[list[Replication]] = [[] for _ in jobs]
        for j, raws in zip(owner, self.run_tasks(tasks)):
            out[j].extend(raws)
        return out

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalExecutor(Executor):
    """A pool of processes on this machine, kept for the executor's life (a worker loads the
    compiled engine once). With one slot, or one task, the work runs in this process."""

    def __init__(self, workers: int | None = None):
        self.slots = max(1, workers or os.cpu_count() or 1)
        self._pool = None

    def run_tasks(self, tasks):
        if self.slots == 1 or len(tasks) == 1:
            return [run_block(*t) for t in tasks]
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.slots)
        return [f.result() for f in [self._pool.submit(run_block, *t) for t in tasks]]

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class DaskExecutor(Executor):
    """Tasks on a Dask distributed cluster (dask scheduler / dask worker)."""

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError:
            raise UserError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
        try:
            self._client = Client(address, timeout="5s")  # a scheduler on a LAN answers in ms
        except (OSError, TimeoutError) as exc:
            raise UserError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        threads = sum(self._client.nthreads().values())
        self.slots = max(1, threads)

    def run_tasks(self, tasks):
        futures = self._client.map(run_block, *zip(*tasks), pure=False)
        return self._client.gather(futures)

    def close(self):
        self._client.close()


def make(scheduler: str | None = None, workers: int | None = None) -> Executor:
    """The executor named by --scheduler or SESSIONSIM_SCHEDULER (tcp://HOST:PORT), else a local pool."""
    address = scheduler or os.environ.get(SCHEDULER_ENV)
    return DaskExecutor(address) if address else LocalExecutor(workers)
