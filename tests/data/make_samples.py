"""Regenerates the sample reports the reporting tests render (a minute or two): report.json of
peak.yaml (8 s, 2 s warm-up, 5 replications, reference engine) and of a two-failure matrix
(failure-matrix.yaml's app-server and redis-master, 40 s, 2 replications, fast engine).
Run it when the report's fields change: Report.from_dict refuses a sample of another shape.

    python tests/data/make_samples.py
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reporting import jsontext, writer  # noqa: E402
from sim.study.failure_matrix import run  # noqa: E402
from sim.model.scenario import load, resolved  # noqa: E402
from sim.model.schema import Scenario  # noqa: E402

HERE = Path(__file__).parent


def _scenario(name: str, **simulation) -> dict:
    data = resolved(load(ROOT / "scenarios" / f"{name}.yaml"))
    data["simulation"].update(simulation)
    return data


def main():
    peak = _scenario("peak", duration_s=8, warmup_s=2, replications=5, seed=1, engine="reference")
    matrix = _scenario("failure-matrix", duration_s=40, warmup_s=5, replications=2, seed=1,
                       until_decided=False, engine="fast")
    matrix["name"] = "matrix-sample"
    matrix["failures"] = [f for f in matrix["failures"] if f["name"] in ("app-server", "redis-master")]
    for file, data in (("sample-report.json", peak), ("sample-matrix-report.json", matrix)):
        report = run(Scenario.model_validate(data))
        writer.dump_json(HERE / file, jsontext.bounded(report.to_dict()))
        print(f"wrote {HERE / file}")


if __name__ == "__main__":
    main()
