"""Scenarios side by side: compare.md (one column per scenario) and compare.png."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from reporting import fmt  # noqa: E402
from reporting.figures import (bottleneck_text, dig, headroom, latency, name,  # noqa: E402
                               objective_label, objective_target, redis_memory, verdict)
from reporting.plots import DPI, STYLE  # noqa: E402
from reporting.svg import inline_svg  # noqa: E402


def _rows(reports: list[dict]) -> list[list[str]]:
    def row(label, get):
        return [label] + [get(r) for r in reports]

    rows = [row("Architecture", lambda r: f"`{dig(r, 'scenario', 'architecture', default='?')}`"),
            row("Cost per month", lambda r: fmt.money(dig(r, "cost", "total_usd_per_month"))),
            row("Throughput", lambda r: fmt.figure(dig(r, "metrics", "throughput_rps"), unit="req/s")),
            row("Latency p50", lambda r: latency(r, "p50")),
            row("Latency p99", lambda r: latency(r, "p99")),
            row("Latency p99.9", lambda r: latency(r, "p999")),
            row("Error rate", lambda r: fmt.pct_figure(dig(r, "metrics", "error_rate"))),
            row("Headroom to saturation", lambda r: headroom(r, with_bottleneck=False)),
            row("Bottleneck (busiest node)", lambda r: bottleneck_text(r) or fmt.DASH),
            row("Redis memory", redis_memory)]
    keys = list(dict.fromkeys(k for r in reports for k in (r.get("objectives") or {})))
    for key in keys:
        rows.append(row(f"Objective: {objective_label(key)}", lambda r, k=key: _verdict(r, k)))
    return rows


def _verdict(report: dict, key: str) -> str:
    obj = dig(report, "objectives", key)
    return fmt.DASH if obj is None else f"{verdict(obj)} ({objective_target(key, obj)})"


MATRIX_FIGURES = (("downtime_s", "downtime", "s"), ("rto_s", "RTO", "s"),
                  ("failed_requests", "failed requests", ""), ("lost_writes", "writes lost", ""),
                  ("cost_usd", "cost", "$"))


def _matrices(reports: list[dict]) -> str:
    """Failure matrices side by side, failures joined by name."""
    names = list(dict.fromkeys(f["name"] for r in reports for f in r.get("failures") or []))
    if not names:
        return ""
    rows = []
    for failure in names:
        entries = [next((f for f in r.get("failures") or [] if f["name"] == failure), None)
                   for r in reports]
        for key, label, unit in MATRIX_FIGURES:
            cells = []
            for e in entries:
                if e is None:
                    cells.append(fmt.DASH)
                elif unit == "$":
                    cells.append(fmt.money(fmt.mean(e.get(key))) if fmt.mean(e.get(key)) is not None
                                 else fmt.DASH)
                else:
                    cells.append(fmt.figure(e.get(key), unit))
            rows.append([failure, label] + cells)
        rows.append([failure, "verdict"] + [e.get("verdict", fmt.DASH) if e else fmt.DASH
                                            for e in entries])
    header = ["Failure", "Figure"] + [f"`{name(r)}`" for r in reports]
    return "\n\n## Failure matrices\n\n" + fmt.table(header, rows)


def render(reports: list[dict]) -> str:
    """Markdown: a table with one column per scenario, then what each scenario is."""
    header = ["Figure (95% CI)"] + [f"`{name(r)}`" for r in reports]
    table = fmt.table(header, _rows(reports), align="l" * (len(reports) + 1)) + _matrices(reports)
    described = [f"- `{name(r)}`: {dig(r, 'scenario', 'description', default='') or fmt.DASH} "
                 f"(seed {r.get('seed', '?')}, {r.get('replications', '?')} replications)"
                 for r in reports]
    return ("# Scenario comparison\n\n" + table + "\n\n" + "\n".join(described) +
            "\n\nHeadroom to saturation = 1 / the highest node utilisation. "
            "Figures are means over replications with their 95% confidence intervals (Student t)."
            "\n\n![Cost, p99 latency and headroom by scenario](compare.png)\n")


def _bounds(fig: dict | None) -> tuple[float, float, float]:
    """(mean, distance down, distance up) of a figure, NaN/0 where missing."""
    mean = fmt.mean(fig)
    if mean is None or not np.isfinite(mean):
        return np.nan, 0.0, 0.0
    lo, hi = ((fig or {}).get("ci95") or [None, None])[:2]
    lo = mean if lo is None else lo
    hi = mean if hi is None else hi
    return mean, max(0.0, mean - lo), max(0.0, hi - mean)


def _panel(ax, labels, figs, title, unit, label_fmt, color):
    values = np.array([_bounds(f) for f in figs], dtype=float).reshape(-1, 3)
    x = np.arange(len(labels))
    has_ci = values[:, 1:].any()
    bars = ax.bar(x, np.nan_to_num(values[:, 0]), color=color, width=0.6,
                  yerr=values[:, 1:].T if has_ci else None, capsize=4, ecolor="0.25")
    ax.bar_label(bars, labels=[label_fmt(v) if np.isfinite(v) else fmt.DASH for v in values[:, 0]],
                 padding=3, fontsize=8, label_type="edge")
    crowded = len(labels) > 3
    ax.set_xticks(x, labels, rotation=20 if crowded else 0, ha="right" if crowded else "center")
    ax.set_title(title)
    ax.set_ylabel(unit)
    ax.grid(axis="x", visible=False)
    finite = values[np.isfinite(values[:, 0]) & (values[:, 0] > 0)]
    if not finite.size:
        return
    top = np.max(finite[:, 0] + finite[:, 2])
    if top / np.min(finite[:, 0]) > 30:  # bars of 4 ms and 5 s: only a log axis shows both
        ax.set_yscale("log")
        ax.set_ylim(np.min(finite[:, 0] - finite[:, 1]) / 2, top * 3)
    else:
        ax.set_ylim(0, top * 1.2)


def _reference_line(ax, y: float, text: str):
    """A dashed horizontal line with its label, when y is inside the axis."""
    low, high = ax.get_ylim()
    if low < y < high:
        ax.axhline(y, color="0.3", lw=1, ls="--")
        ax.annotate(text, (0.01, y), xycoords=("axes fraction", "data"), ha="left", va="bottom",
                    fontsize=7, color="0.3")


def write_chart(reports: list[dict], out_dir: Path, svgs: dict | None = None) -> Path:
    """compare.png: cost per month, p99 latency with its 95% CI, headroom; one bar per scenario.
    With `svgs`, also puts the chart there as inline SVG (for compare.html)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = [name(r) for r in reports]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(max(11.0, 2 + 3.6 * len(reports)), 4.2))
        costs = [dig(r, "metrics", "cost_usd_per_month") or
                 {"mean": dig(r, "cost", "total_usd_per_month")} for r in reports]
        _panel(axes[0], labels, costs, "Cost per month", "USD per month", fmt.money, "tab:blue")
        _panel(axes[1], labels, [dig(r, "metrics", "latency_ms", "p99") for r in reports],
               "p99 latency, end to end (95% CI)", "ms", lambda v: f"{fmt.num(v)} ms", "tab:red")
        targets = {dig(r, "objectives", "p99_latency_ms", "target") for r in reports}
        if len(targets) == 1 and None not in targets:
            target = targets.pop()
            _reference_line(axes[1], target, f"objective {fmt.count(target)} ms")
        _panel(axes[2], labels, [dig(r, "metrics", "headroom_x") for r in reports],
               "Headroom to saturation", "× current load", fmt.times, "tab:green")
        _reference_line(axes[2], 1.0, "1× = saturated")
        fig.tight_layout()
        path = out_dir / "compare.png"
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
        if svgs is not None:
            svgs[path.name] = inline_svg(fig, path.stem)
        plt.close(fig)
    return path
