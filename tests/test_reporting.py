"""The reporting package against a real (short) report of scenarios/peak.yaml."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from reporting import compare, fmt, incidents, jsontext, markdown, plots, terminal, writer
from reporting.writer import OutputError
from sim.study.report import Conservation, Latency, Report
from sim.engines.results import NodeSeries
from tests.helpers import SAMPLE_MATRIX, renamed, sample_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report() -> Report:
    return sample_report()


def with_metrics(report: Report, **figures) -> Report:
    return replace(report, metrics=replace(report.metrics, **figures))


def with_objective(report: Report, key: str, **fields) -> Report:
    objectives = report.objectives | {key: replace(report.objectives[key], **fields)}
    return replace(report, objectives=objectives)


def with_simulation(report: Report, **settings) -> Report:
    sim = report.scenario.simulation.model_copy(update=settings)
    return replace(report, scenario=report.scenario.model_copy(update={"simulation": sim}))


def interval(fig: dict, unit: str = "") -> str:
    """A figure as fmt.figure writes it: the mean's decimals for the bounds too."""
    return fmt.figure(fig, unit=unit)


def assert_png(path: Path):
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = mpimg.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 400
    assert image.std() > 0.01  # not a blank canvas


# fmt ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (6025.533, "6,026"), (4.29561, "4.30"), (0.0159772, "0.0160"), (123.4, "123"), (0, "0"),
    (12, "12"), (99.996, "100"), (0.99996, "1.00"), (None, "–"), (float("nan"), "–"), (float("inf"), "∞"), (-0.0001, "> -0.001"),
    (5.57e-05, "< 0.001"),
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


def test_durations_read_in_the_unit_that_suits_them():
    assert fmt.duration({"mean": 0.00413, "ci95": [0.00227, 0.006]}) == "4.13 ms (2.27–6.00)"
    assert fmt.duration({"mean": 6662.0, "ci95": [6628.0, 6696.0]}, "ms") == "6.66 s (6.63–6.70)"
    assert fmt.duration({"mean": 8.83e-4, "ci95": [7.8e-4, 9.86e-4]}) == "883 µs (780–986)"
    assert fmt.duration({"mean": 0.0, "ci95": [0.0, 0.00241]}) == "0 ms (0–2.41)"
    assert fmt.duration({"mean": 0.0, "ci95": [0.0, 0.0]}) == "0 s" and fmt.duration(None) == "–"


def test_table_aligns_numbers_right_and_text_left():
    lines = fmt.table(["Failure", "RTO", "Verdict"], [["a", "8.48 s (7.97–8.99)", "fails"],
                                                      ["b", "–", "holds"]]).splitlines()
    assert lines[1] == "| ------- | -----------------: | ------- |"


# markdown ----------------------------------------------------------------------------------------

def test_markdown_lines_fit_160_columns(report):
    matrix = sample_report(SAMPLE_MATRIX)
    for text in (markdown.render(report), markdown.render(matrix), compare.render([report] * 3)):
        assert max(len(line) for line in text.splitlines()) <= 160
    text = markdown.render(matrix)
    assert "e-0" not in text  # no 8.83e-04
    for section in ("### Timing", "### Impact", "### The document's claims, judged"):
        assert f"\n{section}\n" in text
    assert "batches |" in text and "not requests" in text  # a replica's throughput is batches


def test_headline_figures_come_from_the_report(report):
    m = report.metrics
    text = markdown.render(report)
    p99 = m.latency_ms.p99
    assert f"{p99['mean']:.2f} ms ({p99['ci95'][0]:.2f}–{p99['ci95'][1]:.2f})" in text
    tp = m.throughput_rps
    assert f"{tp['mean']:,.0f} req/s ({tp['ci95'][0]:,.0f}–{tp['ci95'][1]:,.0f})" in text
    head = m.headroom_x
    assert f"{head['mean']:.2f}× ({head['ci95'][0]:.2f}–{head['ci95'][1]:.2f})" in text
    busiest = max(report.nodes, key=lambda n: report.nodes[n].utilisation["mean"])
    assert f"bottleneck {busiest} " in text
    mem = m.redis_memory_mb["mean"]
    share = mem / report.scenario.topology.redis.maxmemory_mb * 100
    assert f"{mem:,.0f} MB" in text and f"{share:.1f}% of maxmemory" in text
    assert f"${report.cost.total_usd_per_month:,.0f}" in text


def test_a_renamed_figure_fails_loudly(report):
    """A figure the reports read under another name raises where it is read, and a report.json
    missing one is refused: no dash where a figure went missing."""
    data = json.loads((Path(__file__).parent / "data" / "sample-report.json").read_text())
    data["metrics"]["throughput_per_s"] = data["metrics"].pop("throughput_rps")
    with pytest.raises(ValueError, match="throughput_rps"):
        Report.from_dict(data)
    with pytest.raises(AttributeError):
        report.metrics.throughput_per_s


def test_redis_memory_over_maxmemory_is_flagged(report):
    report = with_metrics(report, redis_memory_mb={"mean": 4400.0, "ci95": [4300.0, 4500.0]})
    assert "107% of maxmemory 4,096 MB (**over maxmemory**" in markdown.render(report)
    topology = report.scenario.topology.model_copy(update={"redis": None})
    report = replace(report, scenario=report.scenario.model_copy(update={"topology": topology}))
    assert "| Redis memory " in markdown.render(report) and "– (no Redis)" in markdown.render(report)


def test_markdown_sections_and_title(report):
    text = markdown.render(report)
    assert text.startswith(f"# Scenario `{report.name}`")
    for section in ("Stability", "Headline", "Objectives", "Latency by operation", "Tiers", "Nodes",
                    "Cost per month", "Conservation", "How to read this", "Plots"):
        assert f"\n## {section}\n" in text
    assert "## Failures by reason" not in text  # the sample has none
    assert f"seed {report.seed}" in text and f"{report.replications} replications" in text
    assert "![Throughput and latency over time](timeline.png)" in text


def test_none_renders_as_dash(report):
    """A figure without data (no request through a node in the window) reads as a dash."""
    none = {"mean": None, "ci95": [None, None]}
    node = replace(report.nodes["lb-1"], latency_ms=Latency(none, none, none, none, none))
    report = replace(report, nodes=report.nodes | {"lb-1": node})
    row = next(line for line in markdown.render(report).splitlines() if line.startswith("| lb-1 "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[6] == "–" and cells[7] == "–"  # p50, p99
    assert "None" not in markdown.render(report)


def test_objective_verdicts_and_failures(report):
    report = with_objective(report, "p99_latency_ms", verdict="missed")
    report = replace(report, failure_reasons={"lb_maxconn": {"mean": 12.0, "ci95": [10.0, 14.0]},
                                              "app_queue_full": {"mean": 4.0, "ci95": [4.0, 4.0]}})
    text = markdown.render(report)
    assert "| **missed** |" in text
    failures = text.split("## Failures by reason")[1].split("##")[0]
    assert failures.index("lb_maxconn") < failures.index("app_queue_full")
    assert "12.0 (10.0–14.0)" in failures and "75.0%" in failures


def test_conservation_flags_a_broken_replication(report):
    assert "**NO**" not in markdown.render(report)
    first: Conservation = report.conservation[0]
    broken = replace(first, lb_in_system=first.lb_in_system + 1)  # the balancers' count disagrees
    assert "**NO**" in markdown.render(replace(report, conservation=[broken] + report.conservation[1:]))


# plots -------------------------------------------------------------------------------------------

def test_plots_are_valid_pngs(report, tmp_path):
    paths = plots.write_plots(report, tmp_path)
    assert [p.name for p in paths] == ["timeline.png", "utilisation.png", "cost.png"]
    for path in paths:
        assert_png(path)


def test_idle_nodes_are_left_out_of_utilisation(report):
    """Nodes that never served are not in the report (lb-2, pg-3); one idle throughout the
    series is not drawn either."""
    idle = NodeSeries(*[[0.0] * len(report.series.nodes["pg-1"].utilisation)] * 2)
    report = replace(report, series=replace(report.series, nodes=report.series.nodes | {"pg-1": idle}))
    groups = plots._node_groups(report)
    drawn = {node for members in groups.values() for node, _ in members}
    assert {"lb-2", "pg-1", "pg-3"}.isdisjoint(drawn)
    assert {"lb-1", "redis-1", "app-1/cpu", "pg-2"} <= drawn


def test_plots_survive_gaps_and_long_runs(report, tmp_path):
    from sim.model.schema_failures import Failure
    latency = [list(r) for r in report.series.latency_ms_p50_p95_p99]
    latency[1] = [None, None, None]
    failure = Failure(name="master down", component="redis_master", kind="crash", at_s=3000.0,
                      repair_after_s=60.0)
    report = with_simulation(report, duration_s=7200, warmup_s=600)
    report = replace(report, scenario=report.scenario.model_copy(update={"failures": [failure]}),
                     series=replace(report.series, latency_ms_p50_p95_p99=latency,
                                    arrivals_rps=list(np.linspace(0, 6000, 7201))))
    t, y = plots._binned(1.0, report.series.arrivals_rps, 7200)
    assert len(y) <= plots.MAX_POINTS and t[-1] < 7200
    for path in plots.write_plots(report, tmp_path):
        assert_png(path)


def test_long_series_are_bounded_and_plot_the_same(report):
    """A day's per-second series would make report.json 63 MB: over an hour they are kept as
    block means, and the plots (at most 1,000 points) come out the same from either."""
    data = report.to_dict()
    series = data["series"]
    series["arrivals_rps"] = list(6000 + 1000 * np.sin(np.arange(7200) / 500))
    series["nodes"]["lb-1"]["utilisation"] = [0.2] * 7199 + [None]
    series["latency_ms_p50_p95_p99"] = [[1.0, 2.0, 3.0 + i % 7] for i in range(7200)]
    text = jsontext.dumps(writer.jsonable(jsontext.bounded(data)))
    written = json.loads(text)["series"]
    assert written["step_s"] == 2.0 and len(written["arrivals_rps"]) == 3600
    assert written["latency_step_s"] == 2.0 and written["latency_ms_p50_p95_p99"][0] == [1, 2, 3.5]
    assert written["nodes"]["lb-1"]["utilisation"][-1] == 0.2  # a gap averages over what is there
    full = plots._binned(1.0, series["arrivals_rps"], 7200)
    kept = plots._binned(written["step_s"], written["arrivals_rps"], 7200)
    assert np.allclose(full[0], kept[0]) and np.allclose(full[1], kept[1], rtol=1e-3)
    assert '"ci95": [' in text and max(map(len, text.splitlines())) > 10_000  # a list, one line


# terminal ----------------------------------------------------------------------------------------

def test_terminal_summary_is_short_and_complete(report):
    text = terminal.summary(report)
    assert len(text.splitlines()) <= 15
    assert interval(report.metrics.latency_ms.p99, "ms") in text
    verdicts = [o.verdict.upper() for o in report.objectives.values()]
    assert sum(text.count(f"{v}:") for v in set(verdicts)) == len(verdicts) > 0
    assert "|" not in text  # plain text, not markdown


# writer ------------------------------------------------------------------------------------------

def test_writer_writes_everything(report, tmp_path):
    paths = writer.write_report(report, tmp_path / "peak")
    assert {p.name for p in paths} == {"report.json", "report.md", "report.html", "timeline.png",
                                       "utilisation.png", "cost.png"}
    assert all(p.is_file() for p in paths)
    written = json.loads((tmp_path / "peak" / "report.json").read_text())
    assert written == writer.jsonable(report.to_dict()) and Report.from_dict(written) == report
    assert (tmp_path / "peak" / "report.md").read_text() == markdown.render(report)


@pytest.fixture
def no_plots(monkeypatch):
    """For the tests of the writer's rules about directories: plots take seconds each."""
    monkeypatch.setattr(plots, "write_plots", lambda report, out_dir, svgs=None: [])
    monkeypatch.setattr(incidents, "write_plots", lambda report, out_dir, svgs=None: [])


def test_writer_refuses_another_scenarios_directory(report, tmp_path, no_plots):
    out = tmp_path / "out"
    writer.write_report(report, out)
    with pytest.raises(OutputError, match=f"{out} holds the report of 'peak'; "
                                          "use --out to choose another directory"):
        writer.write_report(renamed(report, "db-fleet"), out)
    assert json.loads((out / "report.json").read_text())["scenario"]["name"] == "peak"
    writer.write_report(renamed(report, "db-fleet"), out, force=True)
    assert json.loads((out / "report.json").read_text())["scenario"]["name"] == "db-fleet"


def test_writer_refreshes_the_same_scenario(report, tmp_path, no_plots):
    writer.write_report(report, tmp_path)
    writer.write_report(replace(report, seed=99), tmp_path)
    assert json.loads((tmp_path / "report.json").read_text())["seed"] == 99


def test_writer_refuses_a_directory_without_its_marker(report, tmp_path, no_plots):
    (tmp_path / "report.json").write_text("not json")
    with pytest.raises(OutputError, match="files that are not a sessionsim report"):
        writer.write_report(report, tmp_path)


def test_json_is_strict_with_nan_inf_and_numpy(report, tmp_path, no_plots):
    report = with_metrics(report, headroom_x={"mean": math.inf, "ci95": [np.float64(math.inf), None]})
    report = replace(report, series=replace(report.series, in_flight=np.array([1.0, math.nan])),
                     replications=np.int64(5))
    writer.write_report(report, tmp_path)
    text = (tmp_path / "report.json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data["metrics"]["headroom_x"] == {"mean": None, "ci95": [None, None]}
    assert data["series"]["in_flight"] == [1.0, None] and data["replications"] == 5
    assert "∞" in (tmp_path / "report.md").read_text()  # the markdown keeps the infinity


# compare -----------------------------------------------------------------------------------------

def test_compare_has_one_row_per_report(report):
    reports = [report, with_objective(renamed(report, "db-fleet"), "p99_latency_ms", verdict="missed"),
               renamed(report, "redis-single")]
    text = compare.render(reports)
    latency = text.split("## Cost and latency")[1].split("##")[0]
    rows = [line for line in latency.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header == ["Scenario", "Architecture", "Cost per month", "p50 (ms)", "p99 (ms)",
                      "p99.9 (ms)"]
    assert [r.split("|")[1].strip() for r in rows[2:]] == ["`peak`", "`db-fleet`", "`redis-single`"]
    assert all(interval(report.metrics.latency_ms.p99) in r for r in rows[2:])
    objectives = text.split("## Objectives")[1].split("##")[0]
    assert "**missed** (≤ 100 ms)" in next(r for r in objectives.splitlines() if "`db-fleet`" in r)
    plain = compare.render_plain(reports)
    assert "|" not in plain and "`" not in plain and max(map(len, plain.splitlines())) <= 120


def test_write_comparison(report, tmp_path):
    paths = writer.write_comparison([report, renamed(report, "other")], tmp_path)
    assert [p.name for p in paths] == ["compare.md", "compare.html", "compare.png", "compare.json"]
    assert_png(tmp_path / "compare.png")
    data = json.loads((tmp_path / "compare.json").read_text())
    assert [s["scenario"] for s in data["scenarios"]] == ["peak", "other"]
    assert "`other`" in (tmp_path / "compare.md").read_text()
