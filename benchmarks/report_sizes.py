"""Sizes and widths of written reports, for the README's figures: report.html and report.json
in bytes, the widest line of report.md, the page's plots and embedded JSON.

    python simulate.py scenarios/failure-matrix.yaml && python simulate.py scenarios/day.yaml
    python benchmarks/report_sizes.py reports/failure-matrix reports/day
"""
from __future__ import annotations

import re
import sys
from pathlib import Path


def describe(directory: Path) -> str:
    html = (directory / "report.html").read_text(encoding="utf-8")
    data = re.search(r'id="report-json">(.*?)</script>', html, re.S).group(1)
    widest = max(len(line) for line in (directory / "report.md").read_text().splitlines())
    return (f"{directory}: report.html {(directory / 'report.html').stat().st_size:,} bytes "
            f"({html.count('<svg')} plots, {len(data.encode()):,} bytes of JSON), "
            f"report.json {(directory / 'report.json').stat().st_size:,} bytes, "
            f"report.md's widest line {widest} characters")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(describe(Path(arg)))
