#!/usr/bin/env python3
"""Benchmark of the planner: `plan scenarios/plan-peak.yaml --growth 1,2,3`, warm (the compiled
engine cached). Prints the wall time, the candidates screened and simulated, the replications and
simulated requests, the analytic screen's time alone, and the chosen plan per growth factor with
its cost beside the document's ($1,580 a month, data/prices/doc-ha.yaml).

    python benchmarks/plan.py [--scheduler tcp://HOST:PORT]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.study import executor  # noqa: E402
from sim.study.plan import space  # noqa: E402
from sim.study.plan.screen import screen  # noqa: E402
from sim.study.plan.search import plan  # noqa: E402
from sim.model.scenario import load  # noqa: E402

SCENARIO = ROOT / "scenarios" / "plan-peak.yaml"
GROWTH = [1.0, 2.0, 3.0]


def screen_alone_s(scenario) -> tuple[float, int]:
    """The analytic screen of every candidate at every growth factor, timed alone."""
    from sim.model import overrides
    started, n = time.perf_counter(), 0
    shapes = space.catalogue(scenario.plan.hardware) if space.SHAPE in scenario.plan.space else {}
    for g in GROWTH:
        at = overrides.apply(scenario, {"workload.arrivals.rate_rps": scenario.workload.arrivals.rate_rps * g})
        for cand in space.candidates(at):
            screen(space.scenario_of(at, cand, shapes))
            n += 1
    return time.perf_counter() - started, n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler")
    args = parser.parse_args()
    scenario = load(SCENARIO)
    doc = space.cost_usd_per_month(load(ROOT / "scenarios" / "peak.yaml"))
    screen_s, screened = screen_alone_s(scenario)
    with executor.make(args.scheduler) as ex:
        result = plan(scenario, ex, GROWTH)
    b = result["budget"]
    print(f"plan {SCENARIO.relative_to(ROOT)} --growth 1,2,3 on {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(f"wall time              {b['wall_s']:.1f} s (target: at most 180 s)")
    print(f"analytic screen alone  {screen_s:.2f} s for {screened} candidates (target: under 1 s)")
    print(f"candidates screened    {b['candidates_screened']}")
    print(f"candidates simulated   {b['candidates_simulated']}")
    print(f"replications           {b['replications']:,}")
    print(f"simulated requests     {b['simulated_requests']:,}")
    for p in result["plans"]:
        c = p["chosen"]
        if c is None:
            print(f"growth x{p['growth']:g}: no fleet of the space; the largest one's excuse: "
                  f"{p['rejected'][-1]['excuse'] if p['rejected'] else '-'}")
            continue
        fields = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in c["overrides"].items())
        print(f"growth x{p['growth']:g}: {fields}: ${c['cost_usd_per_month']:,.0f}/month "
              f"({c['cost_usd_per_month'] - doc:+,.0f} against the document's ${doc:,.0f}); "
              f"confirmed with fresh seeds: {c['confirmation']['holds']}")
    r = result["runway"]
    print(f"runway of today's fleet: x{r['growth']} ({r['ci95'][0]}-{r['ci95'][1]})" if r["found"]
          else f"runway: {r['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
