"""The reporting package against a real (short) report of scenarios/peak.yaml."""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from reporting import compare, fmt, markdown, plots, terminal, writer
from reporting.writer import OutputError

SAMPLE = Path(__file__).parent / "data" / "sample-report.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report() -> dict:
    return json.loads(SAMPLE.read_text())


def renamed(report: dict, name: str) -> dict:
    other = copy.deepcopy(report)
    other["scenario"]["name"] = name
    return other


def assert_png(path: Path):
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = mpimg.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 400
    assert image.std() > 0.01  # not a blank canvas


# fmt ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (6025.533, "6,026"), (4.29561, "4.30"), (0.0159772, "0.0160"), (123.4, "123"), (0, "0"),
    (12, "12"), (99.996, "100"), (0.99996, "1.00"), (None, "–"), (float("nan"), "–"), (float("inf"), "∞"), (-0.0001, "-1.00e-04"),
])
def test_num_significant_digits(value, text):
    assert fmt.num(value) == text


def test_figure_with_interval_takes_the_means_decimals():
    assert fmt.figure({"mean": 4.2956, "ci95": [4.2086, 4.3826]}, unit="ms") == "4.30 ms (4.21–4.38)"
    assert fmt.figure({"mean": 6025.5, "ci95": [5998.1, 6053.0]}) == "6,026 (5,998–6,053)"


def test_figure_without_interval_or_value():
    assert fmt.figure({"mean": 1.4635, "ci95": [1.4635, 1.4635]}, unit="ms") == "1.46 ms"
    assert fmt.figure({"mean": 2.0, "ci95": [None, None]}) == "2.00"
    assert fmt.figure({"mean": None, "ci95": [None, None]}, unit="ms") == "–"
    assert fmt.figure(None) == "–"


def test_percent_money_and_factor():
    assert fmt.pct(0.37660) == "37.7%"
    assert fmt.pct(0.048, exact=True) == "4.8%"
    assert fmt.pct_figure({"mean": 0.0012, "ci95": [0.001, 0.0014]}) == "0.120% (0.100–0.140)"
    assert fmt.money(1580) == "$1,580"
    assert fmt.money(37.5) == "$37.50"
    assert fmt.times(2.6553) == "2.66×"


def test_markdown_table_shape_and_escaping():
    text = fmt.table(["a", "b"], [["x|y", 1], [None, "22"]])
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[1].startswith("| ---") and lines[1].endswith(": |")  # second column right-aligned
    assert "x\\|y" in lines[2] and "| –" in lines[3]
    assert len({len(line) for line in lines}) == 1  # padded columns


# markdown ----------------------------------------------------------------------------------------

def test_headline_figures_come_from_the_dict(report):
    m = report["metrics"]
    text = markdown.render(report)
    p99 = m["latency_ms"]["p99"]
    assert f"{p99['mean']:.2f} ms ({p99['ci95'][0]:.2f}–{p99['ci95'][1]:.2f})" in text
    tp = m["throughput_rps"]
    assert f"{tp['mean']:,.0f} req/s ({tp['ci95'][0]:,.0f}–{tp['ci95'][1]:,.0f})" in text
    head = m["headroom_x"]
    assert f"{head['mean']:.2f}× ({head['ci95'][0]:.2f}–{head['ci95'][1]:.2f})" in text
    busiest = max(report["nodes"], key=lambda n: report["nodes"][n]["utilisation"]["mean"])
    assert f"bottleneck {busiest} " in text
    mem = m["redis_memory_mb"]["mean"]
    share = mem / report["scenario"]["topology"]["redis"]["maxmemory_mb"] * 100
    assert f"{mem:,.0f} MB" in text and f"{share:.1f}% of maxmemory" in text
    assert f"${report['cost']['total_usd_per_month']:,.0f}" in text


def test_redis_memory_over_maxmemory_is_flagged(report):
    report["metrics"]["redis_memory_mb"] = {"mean": 4400.0, "ci95": [4300.0, 4500.0]}
    assert "107% of maxmemory 4,096 MB (**over maxmemory**" in markdown.render(report)
    report["scenario"]["topology"]["redis"] = None
    assert "| Redis memory " in markdown.render(report) and "– (no Redis)" in markdown.render(report)


def test_markdown_sections_and_title(report):
    text = markdown.render(report)
    assert text.startswith(f"# Scenario `{report['scenario']['name']}`")
    for section in ("Headline", "Objectives", "Latency by operation", "Tiers", "Nodes",
                    "Cost per month", "Conservation", "How to read this", "Plots"):
        assert f"\n## {section}\n" in text
    assert "## Failures by reason" not in text  # the sample has none
    assert f"seed {report['seed']}" in text and f"{report['replications']} replications" in text
    assert "![Throughput and latency over time](timeline.png)" in text


def test_none_renders_as_dash(report):
    assert report["nodes"]["lb-2"]["latency_ms"]["p50"]["mean"] is None
    row = next(line for line in markdown.render(report).splitlines() if line.startswith("| lb-2 "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[6] == "–" and cells[7] == "–"  # p50, p99
    assert "None" not in markdown.render(report)


def test_objective_verdicts_and_failures(report):
    report["objectives"]["p99_latency_ms"]["verdict"] = "missed"
    report["failure_reasons"] = {"lb_maxconn": {"mean": 12.0, "ci95": [10.0, 14.0]},
                                 "app_queue_full": {"mean": 4.0, "ci95": [4.0, 4.0]}}
    text = markdown.render(report)
    assert "| **missed** |" in text
    failures = text.split("## Failures by reason")[1].split("##")[0]
    assert failures.index("lb_maxconn") < failures.index("app_queue_full")
    assert "12.0 (10.0–14.0)" in failures and "75.0%" in failures


def test_conservation_flags_a_broken_replication(report):
    assert "**NO**" not in markdown.render(report)
    report["conservation"][0]["completed"] -= 1
    assert "**NO**" in markdown.render(report)


# plots -------------------------------------------------------------------------------------------

def test_plots_are_valid_pngs(report, tmp_path):
    paths = plots.write_plots(report, tmp_path)
    assert [p.name for p in paths] == ["timeline.png", "utilisation.png", "cost.png"]
    for path in paths:
        assert_png(path)


def test_idle_nodes_are_left_out_of_utilisation(report):
    groups = plots._node_groups(report)
    drawn = {node for members in groups.values() for node, _ in members}
    assert {"lb-2", "pg-1", "pg-3"}.isdisjoint(drawn)
    assert {"lb-1", "redis-1", "app-1/cpu", "pg-2"} <= drawn


def test_plots_survive_gaps_and_long_runs(report, tmp_path):
    series = report["series"]
    series["latency_ms_p50_p95_p99"][1] = [None, None, None]
    report["scenario"]["failures"] = [{"name": "master down", "component": "redis_master",
                                       "kind": "crash", "at_s": 3000.0, "repair_after_s": 60.0}]
    report["scenario"]["simulation"].update(duration_s=7200, warmup_s=600)
    series["arrivals_rps"] = list(np.linspace(0, 6000, 7201))
    t, y = plots._binned(1.0, series["arrivals_rps"], 7200)
    assert len(y) <= plots.MAX_POINTS and t[-1] < 7200
    for path in plots.write_plots(report, tmp_path):
        assert_png(path)


# terminal ----------------------------------------------------------------------------------------

def test_terminal_summary_is_short_and_complete(report):
    text = terminal.summary(report)
    assert len(text.splitlines()) <= 15
    assert "4.30 ms (4.21–4.38)" in text
    assert text.count("MET:") == len(report["objectives"])
    assert "|" not in text  # plain text, not markdown


# writer ------------------------------------------------------------------------------------------

def test_writer_writes_everything(report, tmp_path):
    paths = writer.write_report(report, tmp_path / "peak")
    assert {p.name for p in paths} == {"report.json", "report.md", "timeline.png",
                                       "utilisation.png", "cost.png"}
    assert all(p.is_file() for p in paths)
    assert json.loads((tmp_path / "peak" / "report.json").read_text()) == report
    assert (tmp_path / "peak" / "report.md").read_text() == markdown.render(report)


def test_writer_refuses_another_scenarios_directory(report, tmp_path):
    out = tmp_path / "out"
    writer.write_report(report, out)
    with pytest.raises(OutputError, match=f"{out} holds the report of 'peak'; "
                                          "use --out to choose another directory"):
        writer.write_report(renamed(report, "db-fleet"), out)
    assert json.loads((out / "report.json").read_text())["scenario"]["name"] == "peak"
    writer.write_report(renamed(report, "db-fleet"), out, force=True)
    assert json.loads((out / "report.json").read_text())["scenario"]["name"] == "db-fleet"


def test_writer_refreshes_the_same_scenario(report, tmp_path):
    writer.write_report(report, tmp_path)
    report["seed"] = 99
    writer.write_report(report, tmp_path)
    assert json.loads((tmp_path / "report.json").read_text())["seed"] == 99


def test_writer_refuses_a_directory_without_its_marker(report, tmp_path):
    (tmp_path / "report.json").write_text("not json")
    with pytest.raises(OutputError, match="files that are not a sessionsim report"):
        writer.write_report(report, tmp_path)


def test_json_is_strict_with_nan_inf_and_numpy(report, tmp_path):
    report["metrics"]["headroom_x"] = {"mean": math.inf, "ci95": [np.float64(math.inf), None]}
    report["series"]["in_flight"] = np.array([1.0, math.nan])
    report["replications"] = np.int64(5)
    writer.write_report(report, tmp_path)
    text = (tmp_path / "report.json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data["metrics"]["headroom_x"] == {"mean": None, "ci95": [None, None]}
    assert data["series"]["in_flight"] == [1.0, None] and data["replications"] == 5
    assert "∞" in (tmp_path / "report.md").read_text()  # the markdown keeps the infinity


# compare -----------------------------------------------------------------------------------------

def test_compare_has_one_column_per_report(report):
    reports = [report, renamed(report, "db-fleet"), renamed(report, "redis-single")]
    reports[1]["objectives"]["p99_latency_ms"]["verdict"] = "missed"
    text = compare.render(reports)
    rows = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header == ["Figure (95% CI)", "`peak`", "`db-fleet`", "`redis-single`"]
    assert all(row.count("|") == 5 for row in rows)  # 1 label + 3 scenario columns
    p99 = next(r for r in rows if r.startswith("| Latency p99 "))
    assert p99.count("4.30 ms (4.21–4.38)") == 3
    assert "**missed**" in next(r for r in rows if "Objective: p99 latency" in r)


def test_write_comparison(report, tmp_path):
    paths = writer.write_comparison([report, renamed(report, "other")], tmp_path)
    assert [p.name for p in paths] == ["compare.md", "compare.png", "compare.json"]
    assert_png(tmp_path / "compare.png")
    data = json.loads((tmp_path / "compare.json").read_text())
    assert [s["scenario"] for s in data["scenarios"]] == ["peak", "other"]
    assert "`other`" in (tmp_path / "compare.md").read_text()
