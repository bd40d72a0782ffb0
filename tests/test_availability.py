"""The availability model: the closed form of one component, the costs of failovers, the files."""
import pytest

from sim.study import availability
from sim.model import reliability
from sim.model.yamlio import InputError


def _kind(mtbf_h, mttr_h, count=1, failure=None, hits="every"):
    fig = lambda v: {"value": v, "source": "s", "assumption": True, "note": ""}  # noqa: E731
    return {"count": count, "failure": failure, "hits": hits, "mtbf_h": fig(mtbf_h), "mttr_h": fig(mttr_h)}


def _matrix(impaired_s=(10.0, 8.0, 12.0), failed=(1000.0, 800.0, 1200.0)):
    fig = lambda t: {"mean": t[0], "ci95": [t[1], t[2]]}  # noqa: E731
    return {"metrics": {"offered_rps": {"mean": 100.0}},
            "failures": [{"name": "row", "impaired_s": fig(impaired_s), "failed_requests": fig(failed)}]}


def test_one_component_matches_mtbf_over_mtbf_plus_mttr():
    """Exponential failures (MTBF 500 h) and repairs (MTTR 20 h), no failover: availability is
    MTBF / (MTBF + MTTR) = 0.961538. 20,000 years give a Monte Carlo interval of about
    +-0.0002; starting each year up biases it up by MTTR/(MTBF+MTTR) x 1/(year x (1/MTBF +
    1/MTTR)) = 4e-5. Tolerance: 0.001, and the closed form within the reported interval
    widened by that bias."""
    rel = {"name": "one", "node_kinds": {"box": _kind(500, 20)}, "services": {"overall": ["box"]}}
    out = availability.model(rel, _matrix(), {"overall": 0.99}, years=20_000, seed=3)
    a = out["services"]["overall"]["availability"]
    exact = 500 / 520
    assert abs(a["mean"] - exact) < 1e-3
    assert a["ci95"][0] - 1e-4 <= exact <= a["ci95"][1] + 1e-4
    assert out["services"]["overall"]["naive_product"] == pytest.approx(exact)
    assert out["services"]["overall"]["verdict"] == "fails"


def test_failovers_cost_the_measured_row_and_same_seed_same_figures():
    """Two nodes, one holding the role: half the failures cost the row's 10 s (8-12 s); with
    MTBF 876 h that is 2 x 10 / 2 x 10 s = 100 s a year, plus the rare hours both are down."""
    rel = {"name": "pair", "node_kinds": {"lb": _kind(876, 0.01, count=2, failure="row", hits="role")},
           "services": {"overall": ["lb"]}}
    one = availability.model(rel, _matrix(), {"overall": 0.9999}, years=4000, seed=5)
    two = availability.model(rel, _matrix(), {"overall": 0.9999}, years=4000, seed=5)
    assert one == two
    s = one["services"]["overall"]
    assert s["impaired_min_per_year"]["mean"] * 60 == pytest.approx(100, rel=0.05)
    lo, hi = s["impaired_min_per_year"]["ci95"]
    assert lo * 60 < 85 and hi * 60 > 115  # the row's interval (8-12 s) widens it by +-20%
    assert s["naive_product"] > 0.999999  # the calculators see no failover time at all
    assert s["verdict"] == "holds" and s["p_year_meets_target"]["mean"] > 0.95
    assert s["request_availability"]["mean"] == pytest.approx(1 - 10_000 / (100 * availability.YEAR_S), rel=1e-5)


def test_shipped_reliability_file_has_a_source_for_every_figure():
    rel = reliability.load("doc-ha")
    for kind in rel["node_kinds"].values():
        for fig in ("mtbf_h", "mttr_h"):
            assert kind[fig]["source"] in rel["sources"]
    assert set(rel["services"]) == {"overall", "session_service", "business_data"}


def test_bad_reliability_file_names_line_and_field(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("sources: {a: x}\nnode_kinds:\n  lb:\n    count: 2\n    mtbf_h: {value: 10, source: b}\n"
                   "    mttr_h: {value: 1, source: a}\n")
    with pytest.raises(InputError, match=r"r.yaml:5: node_kinds.lb.mtbf_h.source"):
        reliability.load(str(bad))
