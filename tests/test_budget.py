"""The budget guard: a run that would take hours or all the memory is refused before it starts,
with one line giving the estimate and what to change; --yes goes on. Pool workers' memory stays
flat across replications."""
import collections
import textwrap
from pathlib import Path

import pytest

import simulate
from sim.study import budget
from sim.model.scenario import load

ROOT = Path(__file__).resolve().parent.parent
TINY = textwrap.dedent("""\
    name: tiny
    architecture: redis_single
    workload:
      arrivals: {kind: constant, rate_rps: 20}
    """)


class Ran(Exception):
    pass


@pytest.fixture
def no_simulation(monkeypatch):
    import sim.study.failure_matrix

    def ran(*a, **k):
        raise Ran()
    monkeypatch.setattr(sim.study.failure_matrix, "run", ran)


def refused(tmp_path, capsys, text, *argv):
    file = tmp_path / "big.yaml"
    file.write_text(text)
    status = simulate.main([str(file), "--out", str(tmp_path / "out"), "--quiet", *argv])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "--yes" in err, err
    assert not (tmp_path / "out").exists()
    return err


def test_shipped_scenarios_are_within_the_limits():
    for file in sorted((ROOT / "scenarios").glob("*.yaml")):
        est = budget.check(load(file))
        assert est.requests > 0 and est.wall_s < budget.LIMITS["wall_s"], file


def test_estimate_counts_requests_runs_and_replications():
    est = budget.estimate(load(ROOT / "scenarios" / "peak.yaml"))
    assert est.requests == pytest.approx(6000 * 60 * 5)
    matrix = budget.estimate(load(ROOT / "scenarios" / "failure-matrix.yaml"))
    # a matrix adds replications while a claim is undecided: the estimate takes the most it may run
    assert matrix.runs == 7 and matrix.requests == pytest.approx(6000 * 90 * 20 * 7)
    day = budget.estimate(load(ROOT / "scenarios" / "day.yaml"))
    assert day.requests == pytest.approx(5e6 * 20.736 * 2, rel=0.01)


def test_hours_of_simulation_refused(tmp_path, capsys, no_simulation):
    err = refused(tmp_path, capsys, TINY.replace("rate_rps: 20", "rate_rps: 10000000"))
    assert "simulated requests" in err and "simulation.duration_s" in err
    refused(tmp_path, capsys, TINY, "--duration", "10000000")
    refused(tmp_path, capsys, TINY + "mechanisms: {health_check: {inter_s: 1.0e-9}}\n")
    refused(tmp_path, capsys, TINY.replace("kind: constant, rate_rps: 20",
                                           "kind: diurnal, daily_users: 10000000000, "
                                           "requests_per_user: 1000000, hourly_profile: "
                                           + str([1] * 24)))


def test_all_the_memory_refused(tmp_path, capsys, no_simulation, monkeypatch):
    monkeypatch.setattr(budget, "machine_memory_mb", lambda: 8192.0)  # a machine of 8 GB
    text = TINY.replace("redis_single", "db_fleet") + (
        "topology: {db_fleet: {servers: 1000, connections: 100000}, redis: null,\n"
        "           app_servers: {count: 1000, max_count: 1000, cores: 1024}}\n")
    err = refused(tmp_path, capsys, text)
    assert "GB of memory" in err and "sizes" in err


def test_yes_goes_on(tmp_path, no_simulation):
    file = tmp_path / "big.yaml"
    file.write_text(TINY.replace("rate_rps: 20", "rate_rps: 10000000"))
    with pytest.raises(Ran):
        simulate.main([str(file), "--out", str(tmp_path / "out"), "--quiet", "--yes"])


def test_worker_memory_flat_across_replications():
    """Ten short replications of the peak on two workers: each worker's memory after its last
    replication within 60 MB of its second (it grew by 30 MB per replication before)."""
    from sim.study import runner
    from tests.helpers import shortened
    scenario = shortened("peak", duration_s=3, warmup_s=1, replications=10)
    raws = runner.local_replications(scenario, 0, 10, None)
    by_worker = collections.defaultdict(list)
    for raw in raws:
        by_worker[raw.worker.pid].append(raw.worker.rss_mb)
    for rss in by_worker.values():
        if len(rss) >= 3:
            assert rss[-1] - rss[1] < 60, rss
