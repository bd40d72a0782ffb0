"""Coverage of the report's 95% intervals on a case with a known answer (not a test: minutes).

M/M/1 (lambda 700/s, mu 1000/s, one worker, nothing else taking time): the sojourn time is
exponential with rate mu - lambda, so mean = 1 / 300 s, p50 = ln 2 / 300 s, p99 = ln 100 / 300 s.
Each seed runs the scenario as a user would (REPLICATIONS replications of DURATION_S, the
warm-up left out) and asks whether each interval holds the exact value. A 95% interval should
hold it in about 95% of the seeds; with N seeds the count is binomial, so 40 seeds give a
standard error of 3.4 points. Target: each between 90% and 99%.

    python benchmarks/interval_coverage.py [--seeds 40] [--engine fast]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.study.runner import run  # noqa: E402
from tests.helpers import exp, queue_scenario  # noqa: E402

LAMBDA, MU = 700.0, 1000.0
DURATION_S, WARMUP_S, REPLICATIONS = 60.0, 10.0, 5
EXACT_MS = {"mean": 1000 / (MU - LAMBDA), "p50": 1000 * math.log(2) / (MU - LAMBDA),
            "p99": 1000 * math.log(100) / (MU - LAMBDA)}


def covered(figure: dict, exact: float) -> bool:
    lo, hi = figure["ci95"]
    return lo <= exact <= hi


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--engine", choices=("fast", "reference"), default="fast")
    args = parser.parse_args(argv)
    hits = {k: 0 for k in EXACT_MS}
    widths = {k: 0.0 for k in EXACT_MS}
    started = time.time()
    for seed in range(1, args.seeds + 1):
        report = run(queue_scenario(LAMBDA, exp(1000 / MU), cores=1, workers=1, duration_s=DURATION_S,
                                    warmup_s=WARMUP_S, replications=REPLICATIONS, seed=seed,
                                    engine=args.engine))
        latency = report.metrics.latency_ms
        for key, exact in EXACT_MS.items():
            hits[key] += covered(getattr(latency, key), exact)
            lo, hi = getattr(latency, key)["ci95"]
            widths[key] += (hi - lo) / 2 / exact / args.seeds
    print(f"M/M/1, rho {LAMBDA / MU:g}, {REPLICATIONS} replications of {DURATION_S:g} s "
          f"({WARMUP_S:g} s warm-up), seeds 1-{args.seeds}, engine {args.engine}, "
          f"{time.time() - started:.0f} s")
    print(f"{'figure':8} {'exact (ms)':>11} {'coverage':>9} {'mean half-width':>16}")
    for key, exact in EXACT_MS.items():
        share = hits[key] / args.seeds
        flag = "" if 0.90 <= share <= 0.99 else "  OUTSIDE 90-99%"
        print(f"{key:8} {exact:11.4f} {share:9.1%} {widths[key]:15.2%}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
