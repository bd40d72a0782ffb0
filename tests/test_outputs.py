"""What the tool writes: only into directories that are its own (its marker), never a user's
file without --force, whole or not at all, mode 0644, checked before the simulation."""
import json
import stat
import textwrap
import threading
from dataclasses import replace
from pathlib import Path

import pytest

import simulate
from reporting import writer
from reporting.writer import MARKER, OutputError
from sim.study.report import Report
from tests.helpers import renamed, sample_report

ROOT = Path(__file__).resolve().parent.parent
TINY = textwrap.dedent("""\
    name: tiny
    architecture: redis_single
    workload:
      arrivals: {kind: constant, rate_rps: 20}
    simulation: {duration_s: 2, warmup_s: 1, replications: 1, engine: reference}
    """)


@pytest.fixture
def report() -> Report:
    return sample_report()


@pytest.fixture
def no_simulation(monkeypatch):
    """Any simulation started fails the test: the refusals must come before it."""
    import sim.study.failure_matrix

    def boom(*a, **k):
        raise AssertionError("the simulation ran before the output was checked")
    monkeypatch.setattr(sim.study.failure_matrix, "run", boom)


def run_cli(capsys, *argv):
    status = simulate.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def scenario_file(tmp_path, text=TINY, name="tiny.yaml") -> Path:
    file = tmp_path / name
    file.write_text(text)
    return file


# -- refused before the run --------------------------------------------------------------------

@pytest.mark.parametrize("out", ["a-file", "/dev/null", "a-file/sub"])
def test_out_that_is_a_file_refused_before_the_run(tmp_path, capsys, no_simulation, out):
    (tmp_path / "a-file").write_text("mine")
    target = out if out.startswith("/") else tmp_path / out
    status, _, err = run_cli(capsys, scenario_file(tmp_path), "--out", target, "--quiet")
    assert status == 2 and err.count("\n") == 1, err
    assert (tmp_path / "a-file").read_text() == "mine"


def test_users_own_files_without_a_marker_refused(tmp_path, capsys, no_simulation):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "report.md").write_text("my notes")
    (out / "timeline.png").write_bytes(b"my picture")
    status, _, err = run_cli(capsys, scenario_file(tmp_path), "--out", out, "--quiet")
    assert status == 2 and "not a sessionsim report" in err and "--force" in err
    assert (out / "report.md").read_text() == "my notes"


def test_another_scenarios_report_refused_before_the_run(tmp_path, capsys, report, no_simulation):
    out = tmp_path / "out"
    writer.write_report(renamed(report, "other"), out)
    status, _, err = run_cli(capsys, scenario_file(tmp_path), "--out", out, "--quiet")
    assert status == 2 and "holds the report of 'other'" in err


def test_schema_out_refuses_overwrite_and_a_missing_directory(tmp_path, capsys):
    existing = tmp_path / "existing.txt"
    existing.write_text("mine")
    status, _, err = run_cli(capsys, "schema", "--out", existing)
    assert status == 2 and "already exists" in err and existing.read_text() == "mine"
    assert run_cli(capsys, "schema", "--out", existing, "--force")[0] == 0
    assert json.loads(existing.read_text())["title"] == "sessionsim scenario"
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644
    status, _, err = run_cli(capsys, "schema", "--out", tmp_path / "no" / "such.json")
    assert status == 2 and err.count("\n") == 1 and "no directory" in err


# -- written whole, in place, 0644 -------------------------------------------------------------

def test_report_files_are_0644_and_marked(tmp_path, report):
    paths = writer.write_report(report, tmp_path / "peak")
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    assert json.loads((tmp_path / "peak" / MARKER).read_text())["name"] == "peak"
    assert stat.S_IMODE((tmp_path / "peak").stat().st_mode) == 0o755
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_refresh_replaces_the_old_report_whole(tmp_path, report):
    out = tmp_path / "peak"
    writer.write_report(report, out)
    (out / "incident-stale.png").write_bytes(b"from an older run")
    writer.write_report(replace(report, seed=99), out)
    assert json.loads((out / "report.json").read_text())["seed"] == 99
    assert not (out / "incident-stale.png").exists()


def test_a_failed_write_leaves_the_previous_report(tmp_path, report, monkeypatch):
    out = tmp_path / "peak"
    writer.write_report(report, out)
    before = (out / "report.md").read_text()
    import reporting.markdown

    def fail(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(reporting.markdown, "render", fail)
    with pytest.raises(RuntimeError):
        writer.write_report(report, out)
    assert (out / "report.md").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["peak"]


def test_force_on_a_foreign_directory_keeps_the_users_other_files(tmp_path, report):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    writer.write_report(report, out, force=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / "report.json").is_file()


def test_concurrent_runs_on_one_directory(tmp_path, report):
    """While one run holds the directory, a second is refused at once; the first's report is
    whole."""
    out = tmp_path / "peak"
    with writer.Claim(out, "report", "peak") as claim:
        with pytest.raises(OutputError, match="another run is writing"):
            writer.Claim(out, "report", "peak").__enter__()
        writer.write_report(report, out, claim=claim)
    assert json.loads((out / "report.json").read_text())["scenario"]["name"] == "peak"
    results = []

    def one(seed):
        try:
            writer.write_report(replace(report, seed=seed), out)
            results.append(seed)
        except OutputError:
            results.append("refused")
    threads = [threading.Thread(target=one, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert json.loads((out / "report.json").read_text())["seed"] in results


def test_run_end_to_end(tmp_path, capsys, monkeypatch):
    """A real (tiny) run: the report in reports/<name>/ of the working directory, 0644."""
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, scenario_file(tmp_path), "--quiet")
    assert status == 0, err
    folder = tmp_path / "reports" / "tiny"
    assert (folder / "report.json").is_file() and (folder / MARKER).is_file()
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in folder.iterdir())


# -- names -------------------------------------------------------------------------------------

def test_compare_of_two_scenarios_of_one_name_keeps_both(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = scenario_file(tmp_path, name="a.yaml")
    b = scenario_file(tmp_path, TINY.replace("rate_rps: 20", "rate_rps: 30"), name="b.yaml")
    status, out, err = run_cli(capsys, "compare", a, b, "--quiet", "--out", tmp_path / "cmp")
    assert status == 0, err
    rates = [json.loads((tmp_path / "cmp" / d / "report.json").read_text())["scenario"]["workload"]
             ["arrivals"]["rate_rps"] for d in ("tiny", "tiny-2")]
    assert rates == [20, 30]
    status, _, err = run_cli(capsys, "compare", a, b, "--quiet", "--out", tmp_path / "cmp")
    assert status == 0, err  # the same comparison again: a refresh
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "compare.md").write_text("mine")
    status, _, err = run_cli(capsys, "compare", a, b, "--quiet", "--out", tmp_path / "other")
    assert status == 2 and (tmp_path / "other" / "compare.md").read_text() == "mine"


def test_unique_names():
    assert simulate.unique_names(["a", "a", "b", "a-2"]) == ["a", "a-3", "b", "a-2"]
    assert len(simulate.comparison_dir(["x" * 100] * 5).name) <= 200


def test_calibration_outputs_refuse_overwrite(tmp_path):
    from redis_backend.calibrate import CLAIMS_FILE, OUT_FILE, write_outputs
    from redis_backend.target import BackendError
    (tmp_path / CLAIMS_FILE).write_text("mine")
    with pytest.raises(BackendError, match="already exists"):
        write_outputs({}, tmp_path, force=False)
    assert (tmp_path / CLAIMS_FILE).read_text() == "mine" and not (tmp_path / OUT_FILE).exists()
