"""report.html: one self-contained page, checked as text and opened in a headless Chromium."""
from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from reporting import html, markdown, writer
from sim.study.report import Report
from tests.helpers import SAMPLE_MATRIX, renamed, sample_report


@pytest.fixture
def matrix() -> Report:
    return sample_report(SAMPLE_MATRIX)  # failure-matrix.yaml, 2 failures, 40 s, 2 replications


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """The report directory of the sample, written once (plots take seconds)."""
    out = tmp_path_factory.mktemp("matrix")
    writer.write_report(sample_report(SAMPLE_MATRIX), out)
    return out / "report.html"


def embedded(text: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="report-json">(.*?)</script>',
                                text, re.S).group(1))


def test_page_is_self_contained(page):
    text = page.read_text()
    assert page.stat().st_size < 2_000_000
    assert not re.search(r"<(img|link|iframe|object|embed)\b|\ssrc=|url\((?!#)", text)
    assert "<script>" not in text and "<script " not in text.replace(
        '<script type="application/json" id="report-json">', "")
    # the only http addresses are the SVG namespaces, which nothing fetches
    assert set(re.findall(r"https?://[^\s\"'<>]+", text)) <= {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert embedded(text) == json.loads((page.parent / "report.json").read_text())


def test_verdicts_first_then_every_section_and_plot(page, matrix):
    text = page.read_text()
    order = [text.index(f'id="{s}"') for s in ("verdicts", "headline", "failure-matrix", "tiers",
                                                "cost-per-month")]
    assert order == sorted(order)
    for objective in matrix.objectives.values():  # the objectives, with their verdicts
        assert f'class="v-{objective.verdict}">{objective.verdict}<' in text
    assert text.count("<svg") == 3 + len(matrix.failures)  # timeline, utilisation, cost
    verdicts = text[text.index('id="verdicts"'):text.index('id="headline"')]
    for failure in matrix.failures:
        assert f"failure: {failure.name}" in verdicts
        assert f'class="v-{failure.verdict.split()[0]}">{failure.verdict}<' in verdicts
    assert re.search(r'<details id="nodes"><summary>Nodes</summary>', text)
    ids = re.findall(r'\sid="([^"]+)"', text)
    assert len(ids) == len(set(ids))  # the SVGs' clip paths do not collide


def test_scenario_text_cannot_add_markup_or_requests(matrix):
    description = '<script>alert(1)</script> ![x](http://example.invalid/a.png) [y](javascript:alert(2))'
    matrix = replace(matrix, scenario=matrix.scenario.model_copy(update={"description": description}))
    text = html.render(matrix, markdown.render(matrix), {}, writer.jsonable(matrix.to_dict()))
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "example.invalid" in text and not re.search(r"<(img|a)\b", text)
    assert "</script>" not in html.embedded_json({"a": "</script>"})


def test_comparison_page(matrix, tmp_path):
    writer.write_comparison([matrix, renamed(matrix, "other")], tmp_path)
    text = (tmp_path / "compare.html").read_text()
    assert text.count("<svg") == 1 and "<code>other</code>" in text
    assert [s["scenario"] for s in embedded(text)["scenarios"]] == ["matrix-sample", "other"]


# in a browser ------------------------------------------------------------------------------------

def _browser():
    from tests import browser
    binary = browser.chromium()
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium not found (CI=true: the browser test must run, not skip)")
        pytest.skip("chromium not installed (Debian: apt-get install chromium)")
    return browser.Page(binary)


def test_chromium_renders_the_page_offline_without_errors(page, tmp_path):
    """Also the way to look at the page: python tests/browser.py report.html OUT_DIR."""
    chromium = _browser()
    try:
        chromium.open(page.as_uri())
        assert chromium.errors == []
        assert chromium.requests == [page.as_uri()]  # nothing else: no file, no host
        assert chromium.evaluate("JSON.parse(document.getElementById('report-json').textContent)"
                                 ".scenario.name") == "matrix-sample"
        assert chromium.evaluate("document.querySelectorAll('svg').length") == 5
        # laid out, not just parsed: the plots have a width, the page fits a laptop screen
        assert chromium.evaluate("document.querySelector('figure svg').getBoundingClientRect()"
                                 ".width") > 600
        assert chromium.evaluate("document.documentElement.scrollWidth") <= 1366
        shots = [chromium.screenshot(tmp_path / "first.png"),
                 chromium.screenshot(tmp_path / "matrix.png", "failure-matrix")]
    finally:
        chromium.close()
    for shot in shots:
        image = mpimg.imread(shot)
        assert image.shape[:2] == (850, 1366) and image.std() > 0.05  # text, not a blank page
