#!/usr/bin/env python3
"""The peak hour of benchmarks/engines.py (Redis master crash at 30 min, one core), on another
checkout of sessionsim and on this one, alternating, in the same minutes (prints; not a test).

  python benchmarks/engines_versus.py OTHER_CHECKOUT [--rounds N]

Each checkout times the case with its own benchmarks/engines.py, in a fresh process after its
compiled code is loaded; the figures (requests, p99) must come out the same.
"""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def engines_module(root: Path):
    spec = importlib.util.spec_from_file_location(f"engines_{abs(hash(root))}", root / "benchmarks" / "engines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the other checkout (e.g. a git worktree of an older commit)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    checkouts = {"other": engines_module(args.other.resolve()), "this": engines_module(HERE)}
    crash = [{"name": "redis-master", "component": "redis_master", "kind": "crash", "at_s": 1800.0}]
    for module in checkouts.values():
        module.run_case("scenarios/peak.yaml", 2, "fast", [])  # compiles, if the cache is cold
    for _ in range(args.rounds):
        for name, module in checkouts.items():
            r = module.run_case("scenarios/peak.yaml", 3600.0, "fast", crash)
            print(f"{name}: peak hour {r['wall_s']:.2f} s wall, {r['requests']:,} requests, "
                  f"p99 {r['p99_ms']:.2f} ms, in calm stretches {r['bulk'] / r['requests']:.0%}", flush=True)


if __name__ == "__main__":
    main()
