#!/usr/bin/env python3
"""Memory of the pool workers across many replications: flat, not growing with each one.

  python benchmarks/worker_memory.py [--replications 1000] [--scenario scenarios/peak.yaml]
                                     [--duration 3]

Runs the scenario's replications (shortened to --duration seconds, 1 s of warm-up) through the
runner's process pool, as `python simulate.py SCENARIO --replications N` does, and prints each
worker's resident memory after its first replication, its 10th, half way and its last, with
the growth from the 10th to the last. Before the gc.collect() between tasks (sim/study/runner.py) a
worker grew by 30-35 MB per replication of the peak hour.
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.study import runner  # noqa: E402
from sim.model.scenario import load  # noqa: E402
from sim.model.schema import Scenario  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "peak.yaml"))
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    data = load(args.scenario).model_dump()
    data["simulation"].update(duration_s=args.duration, warmup_s=min(1.0, args.duration / 2),
                              replications=args.replications)
    scenario = Scenario.model_validate(data)
    started = time.time()
    raws = runner.local_replications(scenario, 0, args.replications, None)
    wall = time.time() - started
    by_worker = collections.defaultdict(list)
    for raw in raws:
        if raw.worker:  # None: run in this process
            by_worker[raw.worker.pid].append(raw.worker.rss_mb)
    print(f"{args.replications} replications of {Path(args.scenario).name} ({args.duration:g} s each) "
          f"in {wall:.0f} s, {len(by_worker)} workers")
    print("| worker | replications | RSS after 1st | 10th | half way | last | max | growth 10th -> last |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    worst = 0.0
    for i, (pid, rss) in enumerate(sorted(by_worker.items())):
        tenth = rss[min(9, len(rss) - 1)]
        growth = rss[-1] - tenth
        worst = max(worst, growth)
        print(f"| {i + 1} | {len(rss)} | {rss[0]:.0f} MB | {tenth:.0f} MB | {rss[len(rss) // 2]:.0f} MB | "
              f"{rss[-1]:.0f} MB | {max(rss):.0f} MB | {growth:+.0f} MB |")
    return 0 if worst < 100 else 1


if __name__ == "__main__":
    sys.exit(main())
