"""Writes a run's report directory (report.json, report.md, plots) and comparisons."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from reporting import compare, html, incidents, jsontext, markdown, plots
from reporting.figures import name
from sim.errors import UserError

REPORT_JSON = "report.json"


class OutputError(UserError):
    """The output directory holds something this run must not overwrite."""


def jsonable(value: Any) -> Any:
    """A copy JSON can hold: numpy scalars and arrays to Python, NaN and ±inf to null (JSON has
    no such numbers), tuples to lists, Paths to strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy array or scalar
        return jsonable(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def _write_text(path: Path, text: str):
    """Writes through a temporary file so an interrupted run never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_json(path: Path, data: Any):
    _write_text(path, jsontext.dumps(jsonable(data)))


def check_out_dir(out_dir: Path, scenario: str, force: bool = False):
    """Refuses a directory holding another scenario's report (or one that cannot be read)."""
    existing = Path(out_dir) / REPORT_JSON
    if force or not existing.exists():
        return
    try:
        owner = json.loads(existing.read_text(encoding="utf-8"))["scenario"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        raise OutputError(f"{out_dir} holds a {REPORT_JSON} that is not a readable report; "
                          "use --out to choose another directory or --force to overwrite it")
    if owner != scenario:
        raise OutputError(f"{out_dir} holds the report of scenario {owner}; "
                          "use --out to choose another directory or --force to overwrite it")


def write_report(report: dict, out_dir: Path, force: bool = False) -> list[Path]:
    """Writes report.json, report.md and the plots into out_dir; returns the paths written.

    Overwrites a previous report of the same scenario (a refresh); raises OutputError when out_dir
    holds another scenario's report, unless force.
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir, name(report), force)
    out_dir.mkdir(parents=True, exist_ok=True)
    svgs: dict[str, str] = {}
    written = plots.write_plots(report, out_dir, svgs)
    timelines = incidents.write_plots(report, out_dir, svgs)
    data = jsonable(jsontext.bounded(report))
    dump_json(out_dir / REPORT_JSON, data)
    text = markdown.render(report, plots=[p.name for p in written])
    _write_text(out_dir / "report.md", text)
    _write_text(out_dir / "report.html", html.render(report, text, svgs, data))
    return ([out_dir / REPORT_JSON, out_dir / "report.md", out_dir / "report.html"]
            + written + timelines)


def write_comparison(reports: list[dict], out_dir: Path) -> list[Path]:
    """Writes compare.md, compare.html, compare.png and compare.json (the scenarios' headline
    metrics); compare.html links each scenario's report.html in the directory below it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    svgs: dict[str, str] = {}
    chart = compare.write_chart(reports, out_dir, svgs)
    text = compare.render(reports)
    _write_text(out_dir / "compare.md", text)
    summary = [{"scenario": name(r), "architecture": (r.get("scenario") or {}).get("architecture"),
                "seed": r.get("seed"), "replications": r.get("replications"),
                "metrics": {k: v for k, v in (r.get("metrics") or {}).items()
                            if k != "latency_ms_by_operation"},
                "objectives": r.get("objectives"), "cost": r.get("cost"),
                "failures": [{k: v for k, v in f.items() if k != "timeline"}
                             for f in r.get("failures") or []]} for r in reports]
    dump_json(out_dir / "compare.json", {"scenarios": summary})
    links = [f"{name(r)}/report.html" for r in reports]
    _write_text(out_dir / "compare.html",
                html.render_comparison(text, svgs, jsonable({"scenarios": summary}), links))
    return [out_dir / "compare.md", out_dir / "compare.html", chart, out_dir / "compare.json"]
