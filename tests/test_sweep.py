"""Sweeps and --find-max: the grid, the command's outputs, and the capacity knee of M/M/1."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import exp, queue_scenario
from sim.study import executor
from sim.study.find_max import find_max
from sim.model.overrides import parse_values
from sim.model.schema import Scenario
from sim.study.sweep import grid

ROOT = Path(__file__).resolve().parent.parent


def test_values_and_grid():
    assert parse_values("3:6") == [3, 4, 5, 6]
    assert parse_values("6000:12000:3000") == [6000, 9000, 12000]
    assert parse_values("0.5,1,x") == [0.5, 1, "x"]
    with pytest.raises(ValueError):
        parse_values("8:3")
    assert grid([("a", [1, 2]), ("b", [3, 4])]) == [{"a": 1, "b": 3}, {"a": 1, "b": 4},
                                                   {"a": 2, "b": 3}, {"a": 2, "b": 4}]


def _mm1(target_ms: float, duration_s: float = 40) -> Scenario:
    """M/M/1 with mu = 100/s (10 ms exponential service) and a mean-sojourn objective."""
    s = queue_scenario(50, exp(10), cores=1, workers=100_000, duration_s=duration_s, warmup_s=5,
                       replications=4)
    data = s.model_dump()
    data["objectives"] = {"mean_latency_ms": target_ms, "p99_latency_ms": 1e6, "error_rate": 0.01}
    data["simulation"]["max_replications"] = 6
    return Scenario.model_validate(data)


def test_find_max_on_mm1_gives_the_theoretical_rate():
    """W = 1 / (mu - lambda) <= target  <=>  lambda <= mu - 1 / target: 80/s for 50 ms.
    Tolerance: 5% of the rate. With 4-6 replications of 35 s the mean sojourn's interval is about
    +-12% near rho 0.8, which moves the crossing by a quarter of that (dW/W = dlambda/(mu - lambda)),
    about 3%; the bisection stops at 2%."""
    with executor.make(workers=2) as ex:
        fm = find_max(_mm1(50), "workload.arrivals.rate_rps", ex, bounds=(60.0, 95.0),
                      tolerance=0.02)
    assert fm["found"]
    assert abs(fm["value"] - 80) <= 0.05 * 80, fm["value"]
    lo, hi = fm["ci95"]
    assert lo <= fm["value"] <= hi and lo <= 80 <= hi, fm["ci95"]
    assert {p["meets_objectives"] for p in fm["probes"]} >= {"met", "missed"}


def test_sweep_command_writes_points_and_find_max(tmp_path):
    scenario = tmp_path / "mm1.yaml"
    scenario.write_text(json.dumps(json.loads(_mm1(50, duration_s=20).model_dump_json()) | {"name": "mm1"}))
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "simulate.py", "sweep", str(scenario), "--vary",
                          "workload.arrivals.rate_rps=20,60", "--find-max", "topology.app_servers.cores",
                          "--vary", "topology.app_servers.cores=1:4", "--out", str(out), "--quiet"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads((out / "sweep.json").read_text())
    assert [p["values"] for p in result["points"]] == [{"workload.arrivals.rate_rps": 20},
                                                       {"workload.arrivals.rate_rps": 60}]
    assert all(p["throughput_rps"]["ci95"][0] is not None for p in result["points"])
    assert (out / "sweep.png").stat().st_size > 0
    page = (out / "sweep.html").read_text()
    assert "<svg" in page and 'id="report-json"' in page
    # cores never hurt M/M/c: the objectives hold at every count tried, and it says so
    assert result["find_max"]["found"] is False
    assert "max topology.app_servers.cores: not found" in run.stdout


def test_sweep_bad_path_is_one_line():
    run = subprocess.run([sys.executable, "simulate.py", "sweep", "scenarios/peak.yaml", "--vary",
                          "topology.app_servers.cors=3:4"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip() == ("error: command line: --vary topology.app_servers.cors: no field "
                                  "'cors' there; expected one of: count, cores, workers, max_queue, "
                                  "min_count, max_count")
