"""simulation.log_requests: a replication's first requests one by one, the same on both engines,
also when the fast engine runs them in a calm stretch (sim.engines.fast.kept), and in report.json."""
import pytest

from sim.study import summary
from sim.engines.results import plain
from tests.helpers import ENGINES
from tests.request_logs import request_log, run, scenario


@pytest.mark.parametrize("engine", ENGINES)
def test_log_of_a_calm_stretch(engine, monkeypatch):
    """2,001 pages 2 ms apart over two app servers, the first 2,000 logged: each alone, 1.3 ms;
    round robin from app-2. The fast engine runs most of them in a calm stretch. The 2,000th, at
    3999 ms, is still in flight when the run ends at 4 s: no end, no outcome; the 2,001st is not
    logged."""
    requests = [(1 + 2 * i, "page") for i in range(2000)] + [(3999.5, "page")]
    s = scenario(engine, ["page"], {"topology": {"app_servers": {"count": 2}},
                                    "simulation": {"log_requests": 2000}}, duration_s=4)
    raw = run(monkeypatch, s, requests)
    done = [(t, round(t + 1.3, 6), "page", "ok", f"app-{2 - i % 2}") for i, (t, _) in enumerate(requests[:1999])]
    assert request_log(raw) == done + [(3999, None, "page", None, "app-1")]
    if engine == "fast":
        assert raw.bulk_requests >= 1024
    assert summary.report(s, [raw, raw], 1.0).to_dict()["request_logs"] == [plain(raw.request_log)] * 2


@pytest.mark.parametrize("engine", ENGINES)
def test_nothing_logged_by_default(engine, monkeypatch):
    s = scenario(engine, ["page"], {"simulation": {"log_requests": 0}})
    raw = run(monkeypatch, s, [(1, "page"), (2, "page")])
    assert raw.request_log == () and raw.totals.completed == 2
    assert summary.report(s, [raw, raw], 1.0).request_logs is None
