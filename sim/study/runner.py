"""Replications on independent streams, on this machine's processes or a cluster's workers; a
sequential run adds batches of them while a verdict is undecided (summarised by sim.study.summary)."""
from __future__ import annotations

import gc
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from sim.engines.reference import run_replication
from sim.study.objectives import undecided
from sim.study.report import Report, Sequential
from sim.engines.results import Replication, Worker
from sim.model.schema import Scenario
from sim.study.summary import report

_progress = None  # shared array of simulated seconds per replication, set in each worker
_executor = None  # sim.study.executor.Executor: when set, replications run there (use_executor)


def use_executor(executor):
    """Runs every later batch of replications on `executor` (None: this machine's pool again);
    returns the one used before."""
    global _executor
    before, _executor = _executor, executor
    return before


def _init_worker(progress):
    global _progress
    _progress = progress


def engine(scenario: Scenario):
    """The run_replication of the scenario's engine."""
    if scenario.simulation.engine == "fast":
        from sim.engines.fast.engine import run_replication as fast
        return fast
    return run_replication


def _run_one(scenario: Scenario, replication: int) -> Replication:
    def heard(now):
        if _progress is not None:
            _progress[replication] = now
    raw = engine(scenario)(scenario, replication, heard)
    # a replication's arrays hang in reference cycles until the collector's next full pass: a
    # worker running many grew by 30 MB each; collected here, its memory stays flat
    gc.collect()
    return replace(raw, worker=Worker(os.getpid(), rss_mb()))


def rss_mb() -> float:
    """This process's resident memory now (Linux), in MB; NaN elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (OSError, ValueError, IndexError):
        return float("nan")


def local_replications(scenario: Scenario, start: int, n: int, progress_bar) -> list[Replication]:
    """Replications start .. start + n - 1 (each its own random streams, whichever runs it)."""
    workers = max(1, min(n, os.cpu_count() or 1))
    done_s = start * scenario.simulation.duration_s
    if workers == 1:  # in this process: a worker would import and load the compiled code again
        step_s = scenario.simulation.duration_s
        return [engine(scenario)(scenario, r, _after(progress_bar, done_s + i * step_s))
                for i, r in enumerate(range(start, start + n))]
    progress = mp.Array("d", start + n, lock=False)
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(progress,)) as pool:
        futures = [pool.submit(_run_one, scenario, r) for r in range(start, start + n)]
        while not all(f.done() for f in futures):
            if progress_bar:
                progress_bar(done_s + sum(progress))
            time.sleep(0.2)
        return [f.result() for f in futures]


def _after(progress_bar, done_s: float):
    """A replication's progress callback, counting on from the replications run before it."""
    if progress_bar is None:
        return None
    return lambda now: progress_bar(done_s + now)


def simulate(scenario: Scenario, progress_bar=None, start: int = 0,
             n: int | None = None) -> tuple[list[Replication], float]:
    """The raw figures of replications start .. start + n - 1 (n: the scenario's replications),
    and the wall time they took."""
    started = time.time()
    n = n or scenario.simulation.replications
    raws = (_executor.replications(scenario, start, n) if _executor
            else local_replications(scenario, start, n, progress_bar))
    return raws, time.time() - started


def until_decided(scenario: Scenario) -> bool:
    sim = scenario.simulation
    return scenario.incidents.matrix if sim.until_decided is None else sim.until_decided


def sequential(scenario: Scenario, judge_raws, progress_bar=None, more=None):
    """Replications in batches of simulation.replications until judge_raws(raws, wall_s) names no
    undecided verdict, or simulation.max_replications have run (when until_decided is on).
    Returns (raws, wall_s, what judge_raws last returned: (result, undecided names)).
    `more(start, n)`: the progress callback of a later batch, counting from its own start."""
    sim = scenario.simulation
    raws, wall_s = simulate(scenario, progress_bar)
    result, open_ = judge_raws(raws, wall_s)
    while until_decided(scenario) and open_ and len(raws) < sim.max_replications:
        start, n = len(raws), min(sim.replications, sim.max_replications - len(raws))
        bar = more(start, n) if more else None
        more_raws, w = simulate(scenario, bar and (lambda done_s: bar(done_s - start * sim.duration_s)),
                                start=start, n=n)
        raws, wall_s = raws + more_raws, wall_s + w
        result, open_ = judge_raws(raws, wall_s)
    return raws, wall_s, result, open_


def batches(scenario: Scenario) -> int:
    """How many batches of replications one sequential run makes at most."""
    sim = scenario.simulation
    return 1 + (-(-(sim.max_replications - sim.replications) // sim.replications)
                if until_decided(scenario) else 0)


def run(scenario: Scenario, progress_bar=None, more=None) -> Report:
    """Runs the scenario's replications (more while a verdict is undecided, when asked); returns
    its report."""
    return run_with_raws(scenario, progress_bar, more)[0]


def run_with_raws(scenario: Scenario, progress_bar=None, more=None) -> tuple[Report, list[Replication]]:
    """run(), and the raw figures of every replication."""
    def judged(raws, wall_s):
        rep = report(scenario, raws, wall_s)
        return rep, undecided(rep.objectives)
    raws, _, rep, open_ = sequential(scenario, judged, progress_bar, more)
    sim = scenario.simulation
    return replace(rep, sequential=Sequential(until_decided(scenario), len(raws), sim.replications,
                                              sim.max_replications, open_)), raws
