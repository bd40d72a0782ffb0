#!/usr/bin/env python3
"""`calibrate` twice, back to back, against a Redis and a PostgreSQL started here on loopback
(a study that prints figures, not a test; about 4 minutes): both claims tables, the host's
noise, and whether any claim got opposite verdicts.

  python benchmarks/calibrate_local.py [--rounds 4] [--duration-s 2] [--out calibrate-study]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis_backend import claims, servers  # noqa: E402
from redis_backend.cli import main as backend  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", default="4")
    parser.add_argument("--duration-s", default="2")
    parser.add_argument("--out", type=Path, default=Path("calibrate-study"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sessionsim-study-"))
    redis_server, pg = servers.start_redis(work), servers.start_postgres()
    try:
        url = f"redis://127.0.0.1:{redis_server.port}/0"
        runs = []
        for k in (1, 2):
            out = args.out / f"run{k}"
            assert backend(["calibrate", "--redis", url, "--postgres", pg.url, "--out", str(out),
                            "--rounds", args.rounds, "--duration-s", args.duration_s,
                            "--force"]) == 0
            runs.append(json.loads((out / "calibration.json").read_text()))
    finally:
        redis_server.stop()
        pg.stop()
    for k, cal in enumerate(runs, 1):
        print(f"\nrun {k}: host noise")
        for p in cal["host_noise"]:
            print(f"  {p['when']:<22} sleep late p99 {p['sleep_late_ms']['p99']:6.2f} ms, "
                  f"steal {p['cpu_steal_pct']}%, run queue {p['run_queue_per_core']}/core, "
                  f"{p['fsyncs_per_s']:,.0f} fsyncs/s")
        for name, op in (cal["postgres"] or {}).get("operations", {}).items():
            r = op["rounds"]
            print(f"  {name}: capacity {r['saturation_throughput_ops_s']['mean']:,.0f} "
                  f"{r['saturation_throughput_ops_s']['ci95']} writes/s by "
                  f"{', '.join(op['capacity_measured_by'])}; effective_servers "
                  f"{r['effective_servers']['mean']} {r['effective_servers']['ci95']} "
                  f"(bound {op['effective_servers_bound']})")
    rows = [claims.evaluate(cal) for cal in runs]
    print(f"\n{'claim':<28}{'run 1':>44}  {'run 2':>44}")
    for a, b in zip(*rows):
        def cell(r):
            ci = r["ci95"] or [r["measured"], r["measured"]]
            return ("–" if r["measured"] is None
                    else f"{r['measured']:,.3g} [{ci[0]:,.3g}, {ci[1]:,.3g}] {r['verdict']}")
        print(f"{a['claim']:<28}{cell(a):>44}  {cell(b):>44}")
    opposite = [a["claim"] for a, b in zip(*rows)
                if {a["verdict"], b["verdict"]} == {"holds", "fails"}]
    print(f"\nopposite verdicts: {opposite or 'none'}")


if __name__ == "__main__":
    main()
