"""report.html and compare.html: one self-contained page each (styles inline, plots as inline SVG,
the report's JSON embedded), verdicts first.

The tables are report.md's, converted (one place says what a table holds); this module decides
the page's order, what folds behind <details>, and the verdict summary at the top.
"""
from __future__ import annotations

import json
import re
from typing import Any

from markupsafe import escape

import jinja2
import markdown as markdown_lib

from reporting import fmt, incidents
from reporting.figures import objective_label, objective_target, objective_value
from sim.study.report import Report

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("reporting", "templates"),
                          autoescape=True, trim_blocks=True, lstrip_blocks=True)
# report.md's sections in the page's order; unnamed ones (added later) go before FOLDED's
SHOWN_ABOVE = {"Objectives"}  # the verdicts table at the top holds each objective, its value
ORDER = ("Stability", "Headline", "Failure matrix", "Latency by operation", "Tiers",
         "Failures by reason", "Cost per month", "Plots", "Nodes", "Conservation",
         "How to read this")
FOLDED = {"Nodes", "Conservation", "How to read this"}  # behind <details>, closed
VERDICT = re.compile(r"<td([^>]*)>(?:<strong>)?(holds only|holds|met|fails|missed|uncertain|no data|not judged)")
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def _converter() -> markdown_lib.Markdown:
    """Markdown without raw HTML, links or images: scenario text cannot add markup or a request."""
    md = markdown_lib.Markdown(extensions=["tables"])
    for pattern in ("html", "link", "image_link", "reference", "image_reference",
                    "short_reference", "short_image_ref", "autolink", "automail"):
        md.inlinePatterns.deregister(pattern)
    md.preprocessors.deregister("html_block")
    return md


def md_to_html(text: str, svgs: dict[str, str]) -> str:
    """A piece of report.md as HTML: tables scroll sideways, verdicts are coloured, and an image
    whose plot is in `svgs` becomes that inline SVG (any other is left out: no file, no request)."""
    figures = {}

    def plot(match):
        token = f"SESSIONSIMPLOT{len(figures)}X"
        svg = svgs.get(match.group(2))
        figures[token] = (f'<figure>{svg}<figcaption>{escape(match.group(1))}</figcaption>'
                          "</figure>") if svg else ""
        return token
    html = _converter().convert(IMAGE.sub(plot, text))
    html = html.replace("<table>", '<div class="table"><table>').replace("</table>", "</table></div>")
    html = VERDICT.sub(lambda m: f'<td{m.group(1)} class="v-{m.group(2).split()[0]}">'
                       + m.group(0)[len(f"<td{m.group(1)}>"):], html)
    for token, figure in figures.items():
        html = html.replace(f"<p>{token}</p>", figure).replace(token, figure)
    return html


def sections(text: str) -> tuple[str, dict[str, str]]:
    """report.md split at its '## ' headings: (what comes before them, {heading: body})."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return parts[0], {title.strip(): body.strip() for title, body in zip(parts[1::2], parts[2::2])}


def _ordered(found: dict[str, str]) -> list[str]:
    known = [t for t in ORDER if t in found and t not in FOLDED]
    new = [t for t in found if t not in ORDER and t not in SHOWN_ABOVE]
    return known + new + [t for t in ORDER if t in found and t in FOLDED]


def _section(title: str, text: str, svgs: dict[str, str], folded: bool) -> dict:
    return {"title": title, "id": re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
            "html": md_to_html(text, svgs), "folded": folded}


def verdicts(report: Report) -> dict[str, list[dict]]:
    """The page's first table: each objective and each failure with its verdict."""
    st = report.stability  # first: a run that is not steady judges nothing
    objectives = [{"what": "steady state", "verdict": "holds" if st.steady else "fails",
                   "value": "; ".join(st.reasons) or f"offered {fmt.num(st.offered_rps)} req/s"}]
    objectives += [{"what": f"{objective_label(k)} {objective_target(k, o)}",
                    "value": objective_value(k, o) + (f" ({o.reason})" if o.reason else ""),
                    "verdict": o.verdict}
                   for k, o in report.objectives.items()]
    failures = [{"what": f.name, "verdict": f.verdict,
                 "why": "; ".join(incidents.judged(f, c) for c in f.checks if c.verdict != "holds")}
                for f in report.failures]
    return {"objectives": objectives, "failures": failures}


def embedded_json(data: Any) -> str:
    """JSON for a <script type="application/json">: no '<' that could close the element."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def render(report: Report, md_text: str, svgs: dict[str, str], data: Any) -> str:
    """report.html of a run: report.md's sections reordered, plots inline, `data` (the
    JSON-ready report, as in report.json) embedded."""
    head, found = sections(md_text)
    body = [_section(t, found[t], svgs, t in FOLDED) for t in _ordered(found)]
    scenario = json.dumps(data["scenario"], indent=2, allow_nan=False)
    return _ENV.get_template("report.html.j2").render(
        title=f"sessionsim: {report.name}", head=md_to_html(head, svgs), verdicts=verdicts(report),
        sections=body, scenario=scenario, data=embedded_json(data))


def render_comparison(md_text: str, svgs: dict[str, str], data: Any, links: list[str]) -> str:
    """compare.html: compare.md with its chart inline, links to each scenario's report.html."""
    return render_page("sessionsim: scenario comparison", md_text, data, svgs, links)


def render_page(title: str, md_text: str, data: Any, svgs: dict[str, str] | None = None,
                links: list[str] | None = None) -> str:
    """A page of any markdown the tool writes (the claims ledger, availability), its sections in
    their order, `data` embedded as in report.html."""
    head, found = sections(md_text)
    body = [_section(t, b, svgs or {}, False) for t, b in found.items()]
    return _ENV.get_template("report.html.j2").render(
        title=title, head=md_to_html(head, svgs or {}), verdicts=None, sections=body, scenario=None,
        data=embedded_json(data), links=links or [])
