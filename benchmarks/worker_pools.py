"""Cost per request against the size of the app servers' worker pools (fast engine; prints).

The same load (peak.yaml at 6,000 req/s, 60 s, one replication, in this process) with 50 to
100,000 workers per app server: the simulated requests per wall second should not fall as the
pool grows (the calm stretches keep the busy workers' release times in a heap, not a row to scan).

    python benchmarks/worker_pools.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.study.runner import engine  # noqa: E402
from sim.model.scenario import load  # noqa: E402
from sim.model.schema import Scenario  # noqa: E402

SIZES = (50, 1_000, 10_000, 100_000)


def scenario(workers: int) -> Scenario:
    data = load(Path(__file__).resolve().parent.parent / "scenarios" / "peak.yaml").model_dump()
    data["topology"]["app_servers"]["workers"] = workers
    data["simulation"].update(duration_s=60, warmup_s=5, replications=1)
    return Scenario.model_validate(data)


def main() -> int:
    engine(scenario(SIZES[0]))(scenario(SIZES[0]), 0)  # load the compiled code once
    print(f"{'workers':>8} {'requests':>10} {'wall s':>7} {'requests / wall s':>18} {'vs 50':>6}")
    base = None
    for size in SIZES:
        s = scenario(size)
        started = time.perf_counter()
        raw = engine(s)(s, 0)
        wall = time.perf_counter() - started
        rate = raw.totals.arrived / wall
        base = base or rate
        print(f"{size:>8,} {raw.totals.arrived:>10,} {wall:>7.2f} {rate:>18,.0f} {rate / base:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
