#!/usr/bin/env python3
"""Times the engines on the issue's cases and prints the figures (a benchmark, not a test).

  python benchmarks/engines.py [--quick]

Each case runs in a fresh process on one core (one replication, no process pool), after a short
warm-up run that loads the fast engine's compiled code from its cache (compiled beforehand in a
process of its own, so that compiling counts in neither the time nor the memory); its wall time,
simulated requests per wall second and peak memory are printed. --quick shortens every case tenfold.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASE = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from sim.model.scenario import load
from sim.model.schema import Scenario
from sim.study.runner import engine
data = load({file!r}).model_dump()
data["simulation"].update(duration_s={duration}, warmup_s=min(60.0, {duration} / 10), replications=1,
                          engine={engine!r})
data["failures"] = {failures!r}
scenario = Scenario.model_validate(data)
warm = Scenario.model_validate({{**data, "failures": [],
                                 "simulation": {{**data["simulation"], "duration_s": 2, "warmup_s": 1}}}})
engine(warm)(warm, 0)
started = time.perf_counter()
raw = engine(scenario)(scenario, 0)
wall = time.perf_counter() - started
h = raw.latency_hist
print(json.dumps({{"wall_s": wall, "requests": raw.totals.arrived,
                   "p50_ms": h.quantile_s(0.5) * 1000, "p99_ms": h.quantile_s(0.99) * 1000,
                   "failed": raw.totals.failed, "bulk": raw.bulk_requests or 0,
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run_case(file: str, duration: float, engine: str, failures: list) -> dict:
    code = CASE.format(root=str(ROOT), file=file, duration=duration, engine=engine, failures=failures)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        sys.exit(f"case {file} ({engine}) failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(label: str, r: dict, target_s: float | None = None):
    rate = r["requests"] / r["wall_s"]
    verdict = "" if target_s is None else f"  target <= {target_s:g} s: {'met' if r['wall_s'] <= target_s else 'MISSED'}"
    print(f"{label:44s} {r['wall_s']:8.2f} s wall  {r['requests']:>11,} requests  {rate:>11,.0f} req/s  "
          f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  peak {r['peak_rss_mb']:,.0f} MB  "
          f"in calm stretches {r['bulk'] / r['requests']:.0%}{verdict}")
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every case ten times shorter")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    hour, day = 3600 * scale, 86400 * scale
    crash = [{"name": "redis-master", "component": "redis_master", "kind": "crash", "at_s": hour / 2}]
    run_case("scenarios/peak.yaml", 2, "fast", [])  # compiles, if the cache is cold
    print(f"sessionsim engine benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {'quick' if args.quick else 'full'}")
    fast = show(f"fast: peak.yaml {hour:g} s, Redis master crash",
                run_case("scenarios/peak.yaml", hour, "fast", crash), 10 * scale)
    show(f"fast: day.yaml {day:g} s", run_case("scenarios/day.yaml", day, "fast", []), 60 * scale)
    ref_s = 60.0
    ref_crash = [{**crash[0], "at_s": ref_s / 2}]
    reference = show(f"reference: peak.yaml {ref_s:g} s, Redis master crash",
                     run_case("scenarios/peak.yaml", ref_s, "reference", ref_crash))
    print(f"simulated requests per wall second, fast / reference: {fast / reference:,.0f}x")


if __name__ == "__main__":
    main()
