"""Figures a reviewer cannot be misled by: stability, impaired time, impact words, quantile
intervals, sequential replications, the throughput rule, the worst window."""
import math
from dataclasses import fields
from types import SimpleNamespace

import numpy as np
import pytest

from reporting import markdown, terminal
from sim.study import claims, incident, runner, stability
from sim.engines.histogram import GROWTH, LogHistogram, floor_interval
from sim.study.failure_entry import FailureEntry, RunFigures, Timeline
from sim.study.objectives import judge_objectives
from sim.engines.results import Bins
from sim.model.schema import Scenario
from sim.study.stats import ci95, ci_tree
from tests.helpers import exp, queue_scenario, shortened


def with_rate(name: str, rate_rps: float, **simulation) -> Scenario:
    data = shortened(name, **simulation).model_dump()
    data["workload"]["arrivals"]["rate_rps"] = rate_rps
    return Scenario.model_validate(data)


def test_peak_far_past_capacity_is_not_steady_and_judges_nothing():
    """peak.yaml at 80,000 req/s (capacity about 16,000): saturated, and said so in the terminal,
    report.md and report.json; no objective is met, none is judged."""
    report = runner.run(with_rate("peak", 80_000, duration_s=6, warmup_s=2))
    st = report.stability
    assert st.steady is False
    assert any(r.startswith("saturated") for r in st.reasons)
    assert st.offered_rps > 75_000
    assert {o.verdict for o in report.objectives.values()} == {"not judged"}
    assert "RUN NOT STEADY" in terminal.summary(report).splitlines()[1]
    assert "The run is not steady" in markdown.render(report)


def test_queue_past_saturation_is_caught_by_its_growing_backlog():
    """M/M/1 at rho 1.2 with unbounded queues: no request fails, so the error rate reads 0% and
    the old report said "met"; the backlog grows by about (1200 - 1000) x 30 s."""
    report = runner.run(queue_scenario(1200, exp(1.0), cores=1, workers=1, duration_s=40,
                                       warmup_s=10, replications=2))
    st = report.stability
    assert not st.steady
    growth = st.backlog.in_system_at_end - st.backlog.in_system_at_start
    assert 200 * 30 * 0.8 < growth < 200 * 30 * 1.2
    assert report.metrics.error_rate["mean"] == 0
    assert report.objectives["error_rate"].verdict == "not judged"


def test_queue_below_saturation_is_steady_and_judged():
    report = runner.run(queue_scenario(700, exp(1.0), cores=1, workers=1, duration_s=30,
                                       warmup_s=5, replications=3))
    assert report.stability.steady and report.stability.reasons == []
    assert report.objectives["p99_latency_ms"].verdict == "met"


def test_interpolated_quantiles_are_finer_than_the_buckets():
    """Within 0.1% of the exact sample quantile (the buckets are 1% wide) and continuous: two
    samples that share every bucket still give different medians."""
    rng = np.random.default_rng(3)
    x = rng.exponential(0.003, 200_000)
    h = LogHistogram()
    h.record_many(x)
    for q in (0.5, 0.9, 0.99):
        assert h.quantile_s(q) == pytest.approx(np.quantile(x, q), rel=1e-3)
    a, b = LogHistogram(), LogHistogram()  # both medians in the bucket of 1.000-1.002 ms
    a.record_many(np.array([1.000e-3, 1.001e-3, 1.002e-3, 5e-3]))
    b.record_many(np.array([1.000e-3, 1.001e-3, 5e-3, 5e-3]))
    assert a.quantile_s(0.5) < b.quantile_s(0.5) < 1.01e-3


def test_a_quantile_interval_is_never_narrower_than_half_a_bucket():
    same = floor_interval(ci95([2.0, 2.0, 2.0]))
    assert same["ci95"] == pytest.approx([2.0 / GROWTH ** 0.5, 2.0 * GROWTH ** 0.5])
    wide = floor_interval({"mean": 2.0, "ci95": [1.0, 3.0]})
    assert wide["ci95"] == [1.0, 3.0]


def test_shares_are_clipped_at_one_and_zero():
    tree = ci_tree([{"error_rate": 1.0, "x": 1.0}, {"error_rate": 0.5, "x": 0.5}])
    assert tree["error_rate"]["ci95"][1] == 1.0
    assert tree["x"]["ci95"][1] > 1.0


def test_impaired_bins_exact_log():
    """Bin by bin: fine; one failure in 1,000 finished (0.1%: allowed); two failures; 2% slower
    than the p99 objective; requests arriving and none finishing; nothing arriving."""
    arrived = np.array([1000, 1000, 1000, 1000, 50, 0])
    done = np.array([1000, 999, 998, 1000, 0, 0])
    failed = np.array([0, 1, 2, 0, 0, 0])
    slow = np.array([5, 0, 0, 20, 0, 0])
    objectives = Scenario.model_fields["objectives"].default
    bad = incident.impaired(arrived, done, failed, slow, objectives)
    assert bad.tolist() == [False, False, True, True, True, False]


def entry(**figures) -> FailureEntry:
    """A failure's entry whose named figures came out the same in every replication; the others
    have no data."""
    none = {"mean": None, "ci95": [None, None]}
    given = {k: {"mean": v, "ci95": [v, v]} for k, v in figures.items()}
    every = {f.name: given.get(f.name, none) for f in fields(FailureEntry) if f.type == "Figure"}
    return FailureEntry(name="f", component="redis_master", kind="crash", at_s=10.0,
                        repair_after_s=None, replications=2, **every,
                        run=RunFigures(none, none, none, none, none), not_recovered_replications=0,
                        timeline=Timeline(0.5, [], [], [], 10.0, []))


MEANINGS = {"none": {"reason": "r", "checks": [{"figure": "impaired_s", "op": "<=", "value": 0}]},
            "calm": {"reason": "r", "checks": [
                {"figure": "error_rate_during", "op": "<=", "value": "objectives.error_rate"}]},
            "emergency": {"not_judged": "undefined"}}


def test_a_short_incident_that_holds_says_how_many_requests_failed():
    scenario = shortened("peak")
    e = entry(impaired_s=3.0, failed_requests=18_000.0, error_rate_during=0.5)
    out = claims.checks(e, {"impaired_s": {"op": "<", "value": 5, "text": "< 5 s"}, "impact": "none"},
                        MEANINGS, scenario)
    impaired, impact = out
    assert impaired.verdict == "holds" and impaired.note == "18,000 requests failed in it"
    assert impact.verdict == "fails" and impact.parts[0].figure == "impaired_s"
    assert claims.overall(out) == "fails"


def test_impact_words_read_the_scenario_objectives_and_unknown_words_are_not_judged():
    scenario = shortened("peak")
    calm = claims.checks(entry(error_rate_during=0.0005, failed_requests=1.0), {"impact": "calm"},
                         MEANINGS, scenario)[0]
    assert calm.parts[0].value == scenario.objectives.error_rate and calm.verdict == "holds"
    for word in ("emergency", "unheard-of"):
        check = claims.checks(entry(failed_requests=0.0), {"impact": word}, MEANINGS, scenario)[0]
        assert check.verdict == "not judged"
    assert claims.overall([check]) == "not claimed"


@pytest.fixture
def one_core(monkeypatch):
    """Replications in this process, one after another (no pool to start for a tiny run)."""
    import os
    monkeypatch.setattr(os, "cpu_count", lambda: 1)


def test_later_batches_of_replications_are_the_replications_of_one_run(one_core):
    """Replications 2 and 3 run as a second batch give the figures they give in one batch of 4:
    sequential replications change how many run, never what one gives."""
    scenario = shortened("peak", duration_s=3, warmup_s=1)
    whole, _ = runner.simulate(scenario, n=4)
    first, _ = runner.simulate(scenario, n=2)
    more, _ = runner.simulate(scenario, start=2, n=2)
    assert [r.totals for r in first + more] == [r.totals for r in whole]


def test_sequential_replications_stop_when_decided_or_at_the_maximum(one_core):
    scenario = shortened("peak", duration_s=3, warmup_s=1, replications=2, until_decided=True,
                         max_replications=5)
    seen = []

    def judge_after_four(raws, _wall_s):
        seen.append(len(raws))
        return len(raws), ["x"] if len(raws) < 4 else []
    raws, _, result, open_ = runner.sequential(scenario, judge_after_four)
    assert seen == [2, 4] and result == 4 and open_ == []
    raws, _, _, open_ = runner.sequential(scenario, lambda r, w: (len(r), ["x"]))
    assert len(raws) == 5 and open_ == ["x"]


def figure(mean, lo, hi):
    return {"mean": mean, "ci95": [lo, hi]}


def test_throughput_objective_needs_the_load_offered_and_carried():
    """The figures the objectives read (the rest of a report's Metrics plays no part)."""
    scenario = shortened("peak")  # objective: 6,000 req/s, error rate 0.1%
    steady = SimpleNamespace(steady=True, reasons=[])

    def metrics(**figures):
        return SimpleNamespace(**{"latency_ms": SimpleNamespace(p99=figure(5, 4, 6)),
                                  "error_rate": figure(0, 0, 0), "throughput_rps": figure(5998, 5986, 6009),
                                  "offered_rps": figure(5999, 5987, 6010),
                                  "carried_share": figure(0.9999, 0.9995, 1.0)} | figures)
    assert judge_objectives(scenario, metrics(), steady, None)["throughput_rps"].verdict == "met"
    lossy = metrics(carried_share=figure(0.98, 0.97, 0.99))
    assert judge_objectives(scenario, lossy, steady, None)["throughput_rps"].verdict == "missed"
    short = metrics(offered_rps=figure(5000, 4990, 5010))
    verdict = judge_objectives(scenario, short, steady, None)["throughput_rps"]
    assert verdict.verdict == "not judged" and "offered less" in verdict.reason


def test_a_varying_load_is_judged_in_its_worst_window():
    """A piecewise load from 500 to 14,000 req/s and back: the whole run looks calm, its worst
    minute does not; the window found is the one around the peak."""
    data = shortened("peak", duration_s=200, warmup_s=10).model_dump()
    data["workload"]["arrivals"] = {"kind": "piecewise", "points": [
        {"at_s": 0, "rate_rps": 500}, {"at_s": 120, "rate_rps": 500}, {"at_s": 150, "rate_rps": 14_000},
        {"at_s": 160, "rate_rps": 500}, {"at_s": 200, "rate_rps": 500}]}
    report = runner.run(Scenario.model_validate(data))
    window = report.worst_window
    assert 90 <= window.start_s <= 150 and window.length_s == 60
    assert window.offered_rps["mean"] > 2 * report.metrics.offered_rps["mean"]
    assert "worst window" in report.objectives["p99_latency_ms"].rule
    assert window.bottleneck_utilisation["mean"] > report.stability.busiest_node.utilisation


def test_offered_load_counts_the_window_arrivals():
    raw = SimpleNamespace(bins=Bins(0.5, np.array([10, 10, 4, 6]), np.zeros(4), np.zeros(4),
                                    np.zeros(4)), window_s=1.0)  # what the two read of a Replication
    assert stability.offered_rps(raw, warmup_s=1.0) == 10.0
    assert stability.backlog(raw, warmup_s=1.0) == (20, 30, 10)
    assert math.isclose(stability.window_length_s(86_400), 3600)
