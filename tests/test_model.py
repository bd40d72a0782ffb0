"""Conservation of requests, Little's law on every node, determinism, overload: on both engines."""
import pytest

from sim.study.runner import engine as engine_of, run
from tests.helpers import ENGINES, shortened as short


@pytest.fixture(scope="module", params=ENGINES)
def peak(request):
    return run(short("peak", engine=request.param))


def test_conservation(peak):
    """Every request that arrived is completed, failed, or still in flight when the run stops, and
    the in-flight count equals the connections the load balancers still hold (an independent count)."""
    for totals in peak.conservation:
        assert totals.arrived == totals.completed + totals.failed + totals.in_flight
        assert totals.in_flight == totals.lb_in_system
        assert totals.arrived > 0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["peak", "db-fleet"])
def test_littles_law_every_node(name, engine):
    """L (time-average number at the node) = lambda W (throughput x mean sojourn) on every node
    that served anything. Tolerance 2% + 1e-3: only requests straddling the window's edges differ,
    and their share is sojourn / window, below 1e-3 here."""
    report = run(short(name, engine=engine))
    served = [n for n in report.nodes.values() if n.throughput_rps["mean"] > 0]
    assert served
    for node in served:
        L, lw = node.in_system_mean["mean"], node.littles_law_lambda_w["mean"]
        assert L == pytest.approx(lw, rel=0.02, abs=1e-3)


@pytest.mark.parametrize("engine", ENGINES)
def test_same_seed_same_figures_bit_for_bit(engine):
    a, b = (run(short("peak", duration_s=3, warmup_s=1, engine=engine)) for _ in range(2))
    assert a.metrics == b.metrics and a.nodes == b.nodes
    c = run(short("peak", duration_s=3, warmup_s=1, seed=2, engine=engine))
    assert c.metrics.latency_ms != a.metrics.latency_ms


@pytest.mark.parametrize("engine", ENGINES)
def test_replications_are_independent(engine):
    """Replications draw from different streams: their throughputs differ."""
    s = short("peak", duration_s=3, warmup_s=1, engine=engine)
    assert engine_of(s)(s, 0).totals != engine_of(s)(s, 1).totals


@pytest.mark.parametrize("engine", ENGINES)
def test_overload_fails_requests_instead_of_queueing_forever(engine):
    """db-fleet with 1 server at 6,000 writes/s: 20 connections / 10 ms carry 2,000/s. The backlog
    fills the app servers' workers, then the balancer's 4,096 connections; past those, requests
    wait in the balancer's queue and fail after its 5 s queue timeout. In steady state 2/3 fail;
    over the window 1-14 s, failures start near 6 s, so about 0.4 of the window's requests."""
    scenario = short("db-fleet", duration_s=14, warmup_s=1, engine=engine)
    data = scenario.model_dump()
    data["topology"]["db_fleet"].update(servers=1)
    report = run(type(scenario).model_validate(data))
    assert 0.25 < report.metrics.error_rate["mean"] < 0.6
    assert set(report.failure_reasons) == {"lb_queue"}
    assert report.metrics.throughput_rps["mean"] == pytest.approx(2000, rel=0.1)
    for totals in report.conservation:
        assert totals.arrived == totals.completed + totals.failed + totals.in_flight


def test_replications_in_one_process_report_progress_in_order(monkeypatch):
    """On one core the replications run one after another in this process; the progress bar
    hears each one's seconds after those of the replications before it, and the replications
    still differ (each its own streams)."""
    import os

    from sim.study import runner
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    scenario = short("peak", duration_s=3, warmup_s=1)
    heard = []
    raws = runner.local_replications(scenario, 0, 2, heard.append)
    assert heard == sorted(heard) and heard[0] == 0 and heard[-1] == 5
    assert raws[0].totals.arrived != raws[1].totals.arrived


def test_operations_are_drawn_as_numpy_choice_draws_them():
    """The mix's operations are numpy's Generator.choice to the bit (the same uniforms against
    the same cumulative fractions), so seeded runs keep their figures; also with one operation
    and with an operation at zero."""
    import numpy as np
    from sim.model.schema import Workload
    from sim.model.workload import OperationChooser
    base = short("peak", 10).workload.model_dump()
    for mix in (base["mix"], {"session_update": 1.0}, {"session_update": 0.5, "login": 0.0, "checkout": 0.5}):
        chooser = OperationChooser(Workload.model_validate({**base, "mix": mix}), np.random.default_rng(7))
        expected = np.random.default_rng(7).choice(len(chooser.names), size=50_000, p=chooser.p)
        assert chooser.draw(50_000).tolist() == expected.tolist()
