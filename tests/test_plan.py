"""The planner against exact answers: on one M/M/c tier it chooses the smallest number of cores
that meets a mean-latency target by Erlang C; plan.json's contract; its outputs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import exp, queue_scenario
from sim.study import executor
from sim.study.plan.search import plan
from sim.study.plan.space import dominated
from sim.model.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent
MU = 100.0  # 10 ms exponential CPU


def erlang_c_sojourn_ms(c: int, lam: float) -> float:
    """W = C(c, a) / (c mu - lambda) + 1 / mu, with C from Erlang B's recursion."""
    a = lam / MU
    if a >= c:
        return float("inf")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    wait = c * b / (c - a * (1 - b))
    return 1000 * (wait / (c * MU - lam) + 1 / MU)


def smallest_c(lam: float, target_ms: float) -> int:
    return next(c for c in range(1, 50) if erlang_c_sojourn_ms(c, lam) <= target_ms)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """Shapes of 1 to 7 cores at $10 a core."""
    tmp = tmp_path_factory.mktemp("hw")
    (tmp / "prices.yaml").write_text("name: cores\nshapes_usd_per_month:\n"
                                     + "".join(f"  c{c}: {10 * c}\n" for c in range(1, 8)))
    (tmp / "cores.yaml").write_text("name: cores\nprices: prices.yaml\nshapes:\n"
                                    + "".join(f"  c{c}: {{cores: {c}}}\n" for c in range(1, 8)))
    return str(tmp / "cores.yaml")


def _mmc(lam: float, target_ms: float, hardware: str) -> Scenario:
    s = queue_scenario(lam, exp(10), cores=1, workers=100_000, duration_s=20, warmup_s=2,
                       replications=4)
    data = s.model_dump()
    data["objectives"] = {"mean_latency_ms": target_ms, "p99_latency_ms": 1e6, "error_rate": 0.01}
    data["simulation"]["max_replications"] = 8
    data["plan"] = {"hardware": hardware, "alternatives": 0,
                    "space": {"topology.app_servers.shape": [f"c{c}" for c in range(1, 8)]}}
    return Scenario.model_validate(data)


@pytest.mark.parametrize("lam, target_ms", [(150, 15), (250, 11), (400, 13)])
def test_chosen_cores_are_erlang_c_smallest(catalogue, lam, target_ms):
    expected = smallest_c(lam, target_ms)
    with executor.make(workers=2) as ex:
        result = plan(_mmc(lam, target_ms, catalogue), ex)
    chosen = result["chosen"]
    assert chosen["overrides"] == {"topology.app_servers.shape": f"c{expected}"}
    # $10 a core over the rest of the fleet (one c1 server costs $10 more than none)
    assert chosen["cost_usd_per_month"] - result["rejected"][0]["cost_usd_per_month"] == \
        pytest.approx(10 * (expected - 1))
    assert chosen["confirmation"]["holds"]
    # every cheaper shape rejected with its excuse: the bound below saturation, the mean above
    assert [r["overrides"]["topology.app_servers.shape"] for r in result["rejected"]] == \
        [f"c{c}" for c in range(1, expected)]
    saturated = [c for c in range(1, expected) if lam / MU / c >= 0.98]
    for r, c in zip(result["rejected"], range(1, expected)):
        assert r["excuse"].startswith("analytic: app cores" if c in saturated
                                      else "mean_latency_ms "), r["excuse"]
    check = next(c for c in chosen["checks"] if c["figure"] == "mean_latency_ms")
    assert check["verdict"] == "met" and check["value"]["ci95"][1] <= target_ms
    b = result["budget"]
    assert b["candidates_screened"] == expected and b["candidates_simulated"] == expected - len(saturated)
    assert b["replications"] >= 8 and b["simulated_requests"] > 0


def test_pruning_is_by_every_monotone_field():
    shapes = {"s": {"cores": 2}, "l": {"cores": 8}}
    big = {"topology.app_servers.count": 4, "topology.app_servers.shape": "l",
           "topology.redis.sentinels": 3}
    assert dominated({**big, "topology.app_servers.count": 3}, big, shapes)
    assert dominated({**big, "topology.app_servers.shape": "s"}, big, shapes)
    assert not dominated({**big, "topology.app_servers.count": 5}, big, shapes)
    assert not dominated({**big, "topology.redis.sentinels": 1}, big, shapes)  # not monotone


def test_plan_command_writes_the_contract_with_growth_and_runway(catalogue, tmp_path):
    data = json.loads(_mmc(150, 15, catalogue).model_dump_json())
    data["simulation"] |= {"duration_s": 10, "warmup_s": 1}
    data["plan"]["space"] = {"topology.app_servers.shape": ["c2", "c3", "c4"]}
    file = tmp_path / "mmc.yaml"
    file.write_text(json.dumps(data))
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "simulate.py", "plan", str(file), "--growth", "1,1.5",
                          "--out", str(out), "--quiet"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    plan_ = json.loads((out / "plan.json").read_text())
    assert set(plan_) >= {"chosen", "alternatives", "rejected", "budget", "runway", "plans"}
    chosen = plan_["chosen"]
    assert set(chosen) >= {"overrides", "cost_usd_per_month", "checks"}
    assert all(set(c) >= {"figure", "failure", "target", "value", "verdict"} and
               set(c["value"]) >= {"mean", "ci95"} for c in chosen["checks"])
    assert all(set(r) >= {"overrides", "cost_usd_per_month", "excuse"} for r in plan_["rejected"])
    assert set(plan_["budget"]) == {"candidates_screened", "candidates_simulated", "replications",
                                    "simulated_requests", "wall_s"}
    # x1.5 (225/s): Erlang C's smallest c for 15 ms is 4, beyond c3 at x1
    assert [p["chosen"]["overrides"]["topology.app_servers.shape"] for p in plan_["plans"]] == \
        [f"c{smallest_c(150, 15)}", f"c{smallest_c(225, 15)}"]
    # the runway of the fleet as written (1 core, 150/s: saturated) is below today's load
    assert plan_["runway"]["found"] is False or plan_["runway"]["growth"] < 1
    assert (out / "plan.md").read_text().startswith("# Capacity plan of theory")
    assert (out / "frontier.png").stat().st_size > 0
    page = (out / "plan.html").read_text()  # one page: the plot inline, the JSON embedded
    assert "<svg" in page and 'id="report-json"' in page and "frontier.png" not in page
    assert (out / ".sessionsim").exists()  # the tool's directory: a second plan may replace it


def test_plan_needs_a_plan_section():
    run = subprocess.run([sys.executable, "simulate.py", "plan", "scenarios/peak.yaml"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip() == ("error: scenarios/peak.yaml: plan: the scenario has no plan: "
                                  "section (the design space; see scenarios/plan-peak.yaml)")


@pytest.mark.parametrize("space, message", [
    ("topology.app_servers.cors: [1]", "{file}:4: plan.space: unknown field(s) "
     "['topology.app_servers.cors']; expected some of: topology.app_servers.count, "),
    ("topology.app_servers.shape: [huge]", "{file}: plan.space.topology.app_servers.shape: no "
     "shape 'huge' in the catalogue doc-ha; expected one of: app_server"),
])
def test_bad_space_is_one_line(tmp_path, capsys, space, message):
    import simulate
    file = tmp_path / "bad.yaml"
    file.write_text(f"name: bad\nbase: {ROOT}/scenarios/plan-peak.yaml\nplan:\n  space:\n    {space}\n")
    assert simulate.main(["plan", str(file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + message.format(file=file)) and err.count("\n") == 1, err
