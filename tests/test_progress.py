"""Progress on standard error: "batch k/N: name", a plain line every ~10 s off a terminal."""
from __future__ import annotations

import io
from types import SimpleNamespace

from reporting.progress import Progress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def scenario(duration_s: float = 90, replications: int = 5):
    return SimpleNamespace(simulation=SimpleNamespace(duration_s=duration_s, replications=replications))


def test_plain_lines_every_interval_when_not_a_terminal():
    out, clock = io.StringIO(), Clock()
    progress = Progress(9, optional=2, stream=out, tty=False, clock=clock)
    update = progress(scenario(), "failure-matrix without failures")
    for done_s in range(0, 451, 5):  # the runner's callback, called often; 1 s of wall time each
        clock.now += 1
        update(done_s)
    progress(scenario(), "app-server")
    progress.line("writing the report to reports/failure-matrix/")
    lines = out.getvalue().splitlines()
    assert lines[0] == ("[   0 s] batch 1/≤9: failure-matrix without failures: "
                        "5 replications of 90 simulated s")
    ticks = [line for line in lines if line.endswith("% simulated")]
    assert len(ticks) == 9  # 91 s of wall time, a line every 10 s
    assert ticks[0] == "[  10 s] batch 1/≤9: failure-matrix without failures: 10% simulated"
    assert lines[-2].startswith("[  91 s] batch 2/≤9: app-server: ")
    assert lines[-1] == "[  91 s] writing the report to reports/failure-matrix/"


def test_a_long_label_is_cut_to_fit_120_columns():
    out = io.StringIO()
    Progress(10, optional=3, stream=out, tty=False, clock=Clock())(
        scenario(), "app-server with option redispatch (a refused request retried on another server)")
    line = out.getvalue().rstrip("\n")
    assert len(line) <= 120 and "…" in line
    assert "batch 1/≤10: app-server with option redispatch" in line


def test_a_single_batch_is_named_without_a_count():
    out = io.StringIO()
    Progress(1, stream=out, tty=False, clock=Clock())(scenario(60, 1), "peak")
    assert out.getvalue() == "[   0 s] peak: 1 replication of 60 simulated s\n"


def test_a_batch_past_its_clock_says_it_is_finishing():
    out, clock = io.StringIO(), Clock()
    update = Progress(1, stream=out, tty=False, clock=clock)(scenario(60, 1), "day")
    clock.now += 12
    update(60.0)
    assert out.getvalue().splitlines()[-1] == "[  12 s] day: finishing (12 s in this batch)"
