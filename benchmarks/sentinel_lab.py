#!/usr/bin/env python3
"""Real Sentinel failovers beside the simulated ones, crash and hang, with the document's
settings (a study that prints figures, not a test; about 4 minutes with 4 trials each).

  python benchmarks/sentinel_lab.py [--trials 4] [--out lab-study]

Runs `python simulate.py lab sentinel scenarios/failure-matrix.yaml --kill crash|hang --trials N`
(each trial on fresh servers, a random 10-20 s of writes before the kill, as in production),
prints each lab table and, from the two lab.json files, +switch-master and the client's
downtime, lab beside simulated with the gap in %, and the hang-minus-crash gaps.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("switch_master_ms", "client_downtime_ms")


def run(kind: str, trials: int, out: Path) -> dict:
    subprocess.run([sys.executable, str(ROOT / "simulate.py"), "lab", "sentinel",
                    str(ROOT / "scenarios" / "failure-matrix.yaml"), "--kill", kind,
                    "--trials", str(trials), "--out", str(out / kind), "--force"], check=True)
    return json.loads((out / kind / "lab.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("lab-study"))
    args = parser.parse_args()
    results = {kind: run(kind, args.trials, args.out) for kind in ("crash", "hang")}
    print(f"\n{'figure':<22}{'kind':<7}{'lab mean ± sd':>18}{'simulated':>11}{'gap':>8}  verdict")
    for key in FIGURES:
        for kind, result in results.items():
            m, sim = result["measured"][key], result["simulated"]["summary"][key]
            row = next(r for r in result["comparison"] if r["key"] == key)
            sd = "" if m["sd"] is None else f" ± {m['sd']:,.0f}"
            print(f"{key:<22}{kind:<7}{m['mean']:>12,.0f}{sd:>6}{sim['mean']:>11,.0f}"
                  f"{(m['mean'] - sim['mean']) / m['mean']:>+8.1%}  {row['verdict']}")
    for key in FIGURES:
        lab = [results[k]["measured"][key]["mean"] for k in ("hang", "crash")]
        sim = [results[k]["simulated"]["summary"][key]["mean"] for k in ("hang", "crash")]
        print(f"hang - crash, {key}: lab {lab[0] - lab[1]:,.0f} ms, "
              f"simulated {sim[0] - sim[1]:,.0f} ms")


if __name__ == "__main__":
    main()
