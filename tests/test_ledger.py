"""The claims ledger: every figure of FACTS.md in it, every claim judged or given a reason, the
arithmetic recomputed, intervals respected, unsteady runs judging nothing."""
import json
import re
from pathlib import Path

import pytest

import simulate
from sim.study.ledger import book
from sim.study.ledger.cli import context
from sim.study.ledger.expr import Iv, compare, evaluate
from sim.model.yamlio import InputError

SEED_FACTS = Path(__file__).resolve().parents[2] / "shared" / "seed" / "FACTS.md"
FACTS = Path(__file__).resolve().parent / "data" / "FACTS.md"  # a copy of the seed's
NUMBER = re.compile(r"\d(?:[\d,.]*\d)?")
VERDICTS = ("holds", "fails", "uncertain", "not judged")


def _figure(mean, lo=None, hi=None):
    return {"mean": mean, "ci95": [mean if lo is None else lo, mean if hi is None else hi]}


def _matrix():
    rows = {"app-server": 8.5, "load-balancer": 3.1, "redis-master": 13.4, "redis-cluster": 33.4,
            "database-primary": 17.9, "total-infrastructure": 50.0}
    failures = []
    for name, rto in rows.items():
        failures.append({
            "name": name, "replications": 5, "impaired_s": _figure(rto / 2, rto / 3, rto),
            "failed_requests": _figure(5000.0, 4000.0, 6000.0), "rto_s": _figure(rto, rto * 0.9, rto * 1.1),
            "detection_s": _figure(5.1, 5.0, 5.2), "lost_writes": _figure(6.0, 2.0, 10.0),
            "lost_writes_span_s": _figure(0.5, 0.2, 0.8), "revenue_lost_usd": _figure(50.0, 40.0, 60.0),
            "checks": [{"figure": f, "claimed": "x", "verdict": v} for f, v in
                       (("detection_s", "fails"), ("impaired_s", "holds"), ("rto_s", "uncertain"),
                        ("lost_writes", "holds only with WAIT 1"), ("impact", "holds"))]})
    return {"metrics": {"offered_rps": _figure(6000.0)}, "seed": 1, "failures": failures,
            "scenario": {"incidents": {"revenue_usd_per_hour": 50000}}}


def _run(name, steady=True, **metrics):
    objectives = {"error_rate": {"verdict": "met", "operator": "<=", "target": 0.001,
                                 "value": _figure(0.0001)}}
    return {"scenario": {"name": name}, "seed": 1, "replications": 3, "objectives": objectives,
            "stability": {"steady": steady, "reasons": [] if steady else ["backlog grows"]},
            "metrics": {k: _figure(*v) if isinstance(v, tuple) else _figure(v) for k, v in metrics.items()}}


def _rows(runs=None, calibration=None):
    from sim.study import availability
    from sim.model import reliability
    ledger = book.load("doc-ledger")
    runs = runs if runs is not None else {
        "peak": _run("peak", headroom_x=(2.67, 2.6, 2.7), throughput_rps=6000.0, cost_usd_per_month=1580.0),
        "db_fleet": _run("db-fleet", cost_usd_per_month=4930.0),
        "redis_single": _run("redis-single"),
        "load_test": _run("load-test", steady=False, carried_share=0.97, error_rate=0.03)}
    avail = availability.model(reliability.load("doc-ha"), _matrix(),
                               {"overall": 0.999, "session_service": 0.9995, "business_data": 0.9999}, years=500)
    return book.judge_all(ledger, context(ledger, _matrix(), avail, runs, calibration))


def test_facts_copy_is_the_seed():
    if not SEED_FACTS.is_file():
        pytest.skip(f"{SEED_FACTS} not on this machine (the copy in tests/data is used)")
    assert FACTS.read_text() == SEED_FACTS.read_text()


def test_every_number_of_facts_md_is_quoted_by_a_claim():
    """Each number on each line of FACTS.md (from its first section on) is inside a `facts`
    quote of some ledger claim found on that line; every quote is FACTS.md's own words."""
    text = FACTS.read_text()
    quotes = [q for c in book.load("doc-ledger")["claims"].values() for q in c["facts"]]
    for q in quotes:
        assert any(q in line for line in text.splitlines()), f"not in FACTS.md: {q!r}"
    body = text.split("## Workload", 1)[1].splitlines()
    for line in body:
        covered = {n for q in quotes if q in line for n in NUMBER.findall(q)}
        missing = set(NUMBER.findall(line)) - covered
        assert not missing, f"FACTS.md line not in the ledger: {line!r} (numbers {sorted(missing)})"


def test_every_claim_has_a_verdict_or_a_reason():
    ledger = book.load("doc-ledger")
    rows = _rows()
    assert {r["id"].split("/")[0] for r in rows} == set(ledger["claims"])
    for row in rows:
        assert row["verdict"] in VERDICTS or row["verdict"].startswith("holds only with"), row
        assert row["verdict"] != "not judged" or row["reason"], row
    s = book.summary(rows)
    assert s["total"] == len(rows) == s["held"] + s["failed"] + s["conditional"] + s["uncertain"] + s["not judged"]
    assert s["conditional"] == 8  # the fake matrix's lost_writes: 6 rows, rpo-database, redis-failover


def test_arithmetic_costs_headroom_and_unsteady_runs():
    rows = {r["id"]: r for r in _rows()}
    assert rows["cost-a-reduction"]["verdict"] == "holds"   # (2,000 - 150) / 2,000 = 92.5%
    assert rows["cost-a-reduction"]["figure"]["mean"] == pytest.approx(0.925)
    assert rows["cost-a-annual"]["figure"]["mean"] == 22200
    assert rows["cost-a-vs-b"]["verdict"] == "fails"        # table B prices that fleet at $250
    assert rows["cost-b-total"]["verdict"] == "holds"
    assert rows["cost-b-old-with-stack"]["verdict"] == "fails"
    assert rows["new-sessions-58"]["verdict"] == "holds"
    assert rows["headroom-16x"]["verdict"] == "holds"          # 100,000 / 6,000 = 16.7
    assert rows["headroom-16x-simulated"]["verdict"] == "fails"  # 2.6-2.7x at the bottleneck
    assert rows["headroom-1700x-simulated"]["figure"]["ci95"] == pytest.approx([2.6 * 6000 / (5e6 / 86400),
                                                                                 2.7 * 6000 / (5e6 / 86400)])
    assert rows["load-test-8500"]["verdict"] == "not judged"
    assert "not steady" in rows["load-test-8500"]["reason"]
    assert rows["item-views-20k"]["verdict"] == "not judged" and "calibrate" in rows["item-views-20k"]["reason"]
    assert rows["matrix-redis-master/lost_writes"]["verdict"] == "holds only with WAIT 1"
    assert rows["rpo-session"]["verdict"] == "holds"
    assert rows["availability-business"]["verdict"] in VERDICTS


def test_calibration_judges_the_capacity_claims():
    calibration = [{"claim": "item_views_20k_capacity", "verdict": "holds", "claimed": ">= 20,000 item views/s",
                    "metric": "item_view_capacity_ops_s", "measured": 31000.0, "unit": "item views/s"}]
    calibration.append({"claim": "redis_100k_ops_capacity", "verdict": "holds", "claimed": ">= 100,000 commands/s",
                        "metric": "redis_capacity_commands_s", "measured": 90000.0, "unit": "commands/s"})
    rows = {r["id"]: r for r in _rows(calibration=calibration)}
    assert rows["item-views-20k"]["verdict"] == "holds"
    assert rows["headroom-16x-calibrated"]["verdict"] == "fails"  # 90,000 / 6,000 = 15x
    assert "calibrate" in {r["id"]: r for r in _rows()}["headroom-16x-calibrated"]["reason"]
    assert rows["redis-100k"]["verdict"] == "holds"  # the row says so (verdicts are calibrate's)
    assert rows["redis-200-bytes"]["verdict"] == "not judged"


def test_interval_arithmetic_and_the_whole_interval_rule():
    x = evaluate("a / (b - 1)", {"a": _figure(10, 8, 12), "b": 3}.__getitem__)
    assert (x.lo, x.mean, x.hi) == (4, 5, 6)
    assert compare(x, ">=", 4) == "holds" and compare(x, ">=", 5) == "uncertain" and compare(x, ">", 6) == "fails"
    assert compare(Iv.of(0.925), "==", 0.925, tol=0.0005) == "holds"
    assert compare(Iv.of(2.0), "between", [3, 5]) == "fails"


def test_bad_ledger_names_line_and_field(tmp_path):
    bad = tmp_path / "l.yaml"
    bad.write_text("claims:\n  x:\n    text: t\n    where: w\n    facts: [f]\n    judge: {how: guess}\n")
    with pytest.raises(InputError, match=r"l.yaml:6: claims.x.judge.how: expected one of"):
        book.load(str(bad))


def test_claims_command_on_a_kept_matrix_writes_json_and_markdown(tmp_path, capsys):
    """The command end to end on a small ledger (no runs) and a kept matrix report; a second
    run refuses to overwrite without --force."""
    matrix = tmp_path / "matrix.json"
    matrix.write_text(json.dumps(_matrix()))
    ledger = tmp_path / "ledger.yaml"
    ledger.write_text("claims:\n  a:\n    text: t\n    where: w\n    facts: [f]\n"
                      "    judge: {how: availability, service: overall}\n"
                      "  b:\n    text: t\n    where: w\n    facts: [f]\n"
                      "    judge: {how: arithmetic, expr: '12 * 1850', op: '==', value: 22200}\n")
    argv = ["claims", "--ledger", str(ledger), "--matrix-report", str(matrix), "--years", "300",
            "--out", str(tmp_path / "out")]
    assert simulate.main(argv) == 0
    result = json.loads((tmp_path / "out" / "claims.json").read_text())
    assert [r["id"] for r in result["rows"]] == ["a", "b"] and result["rows"][1]["verdict"] == "holds"
    assert result["summary"]["line"] in capsys.readouterr().out
    assert "| b " in (tmp_path / "out" / "claims.md").read_text()
    assert "| business data " in (tmp_path / "out" / "availability.md").read_text()
    for page in ("claims.html", "availability.html"):  # one self-contained page each, JSON inside
        text = (tmp_path / "out" / page).read_text()
        assert 'id="report-json"' in text and "http" not in text.replace("http-equiv", "")
    assert simulate.main(argv) == 2
