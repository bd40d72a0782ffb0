"""Scenarios side by side: compare.md (a row per scenario), its plain-text form, compare.png."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from reporting import fmt, incidents  # noqa: E402
from reporting.figures import (bottleneck, headroom, objective_label, objective_target,  # noqa: E402
                               redis_memory, verdict)
from reporting.plots import DPI, STYLE, plain_log_ticks  # noqa: E402
from reporting.svg import save  # noqa: E402
from sim.study.report import Report  # noqa: E402


def _bottleneck(report: Report) -> str:
    """'app-1/cpu 37.5% busy (+3 alike)': the busiest node, and its twins of a balanced tier."""
    node, util, alike = bottleneck(report)
    if node is None:
        return fmt.DASH
    return f"{node} {fmt.pct(util)} busy" + (f" (+{alike - 1} alike)" if alike > 1 else "")


def _verdict(report: Report, key: str) -> str:
    obj = report.objectives.get(key)  # scenarios may set different objectives
    return fmt.DASH if obj is None else f"{verdict(obj)} ({objective_target(key, obj)})"


def tables(reports: list[Report], code: bool = True) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of each table: one row per scenario (one per failure and scenario for
    the failure matrices), so that a table is as wide with six scenarios as with two. `code`
    puts names in backticks (markdown)."""
    def label(r):
        return f"`{r.name}`" if code else r.name

    def lat(r, key):
        return fmt.figure(getattr(r.metrics.latency_ms, key))
    out = [("Cost and latency", ["Scenario", "Architecture", "Cost per month", "p50 (ms)", "p99 (ms)",
                                 "p99.9 (ms)"],
            [[label(r), r.scenario.architecture, fmt.money(r.cost.total_usd_per_month),
              lat(r, "p50"), lat(r, "p99"), lat(r, "p999")] for r in reports]),
           ("Load and capacity", ["Scenario", "Throughput (req/s)", "Error rate",
                                  "Headroom to saturation", "Bottleneck (busiest node)"],
            [[label(r), fmt.figure(r.metrics.throughput_rps), fmt.pct_figure(r.metrics.error_rate),
              headroom(r, with_bottleneck=False), _bottleneck(r)] for r in reports]),
           ("Redis memory", ["Scenario", "Redis memory (95% CI)"],
            [[label(r), redis_memory(r)] for r in reports])]
    keys = list(dict.fromkeys(k for r in reports for k in r.objectives))
    if keys:
        out.append(("Objectives", ["Scenario"] + [objective_label(k) for k in keys],
                    [[label(r)] + [_verdict(r, k) for k in keys] for r in reports]))
    return out + _matrix_tables(reports, label)


def _matrix_tables(reports: list[Report], label) -> list[tuple[str, list[str], list[list[str]]]]:
    """The failure matrices: a row per failure and scenario, failures joined by name."""
    names = list(dict.fromkeys(f.name for r in reports for f in r.failures))
    out = []
    for title, figures, with_verdict in (("Failure matrices: timing", MATRIX_TIMING, True),
                                         ("Failure matrices: impact", MATRIX_IMPACT, False)):
        rows = []
        for failure in names:
            for r in reports:
                e = next((f for f in r.failures if f.name == failure), None)  # not in every scenario
                cells = incidents.cells(e, figures) if e else [fmt.DASH] * len(figures)
                verdict_ = [e.verdict if e else fmt.DASH] if with_verdict else []
                rows.append([failure, label(r)] + cells + verdict_)
        header = ["Failure", "Scenario"] + [text for _, text, _ in figures]
        out.append((title, header + (["Verdict"] if with_verdict else []), rows))
    return out if names else []


MATRIX_TIMING = tuple(f for f in incidents.TIMING if f[0] != "action_s")
MATRIX_IMPACT = tuple(f for f in incidents.IMPACT if f[0] in ("failed_requests", "lost_writes",
                                                              "cost_usd"))


def render(reports: list[Report]) -> str:
    """Markdown: the tables, then what each scenario is."""
    parts = ["# Scenario comparison", "Means over replications with their 95% confidence intervals "
             "(Student t); headroom to\nsaturation = 1 / the highest node utilisation."]
    parts += [f"## {title}\n\n" + fmt.table(header, rows) for title, header, rows in tables(reports)]
    parts.append("## Scenarios\n\n" + "\n".join(
        f"- `{r.name}`: {r.scenario.description or fmt.DASH} "
        f"(seed {r.seed}, {r.replications} replications)" for r in reports))
    parts.append("![Cost, p99 latency and headroom by scenario](compare.png)")
    return "\n\n".join(parts) + "\n"


def render_plain(reports: list[Report]) -> str:
    """The same tables for the terminal: aligned plain text, no markdown."""
    return "\n\n".join(f"{title}\n" + fmt.table(header, rows, style="plain")
                         for title, header, rows in tables(reports, code=False))


def _bounds(fig: dict | None) -> tuple[float, float, float]:
    """(mean, distance down, distance up) of a figure, NaN/0 where missing."""
    mean = fmt.mean(fig)
    if mean is None or not np.isfinite(mean):
        return np.nan, 0.0, 0.0
    lo, hi = fig["ci95"]
    lo = mean if lo is None else lo
    hi = mean if hi is None else hi
    return mean, max(0.0, mean - lo), max(0.0, hi - mean)


def _panel(ax, labels, figs, title, unit, label_fmt, color):
    """Horizontal bars, one per scenario from the top, with the 95% interval as error bars."""
    values = np.array([_bounds(f) for f in figs], dtype=float).reshape(-1, 3)
    y = np.arange(len(labels))
    has_ci = values[:, 1:].any()
    bars = ax.barh(y, np.nan_to_num(values[:, 0]), color=color, height=0.6,
                   xerr=values[:, 1:].T if has_ci else None, capsize=3, ecolor="0.25")
    ax.bar_label(bars, labels=[label_fmt(v) if np.isfinite(v) else fmt.DASH for v in values[:, 0]],
                 padding=4, fontsize=8, label_type="edge")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(unit)
    ax.grid(axis="y", visible=False)
    finite = values[np.isfinite(values[:, 0]) & (values[:, 0] > 0)]
    if not finite.size:
        return
    top = np.max(finite[:, 0] + finite[:, 2])
    if top / np.min(finite[:, 0]) > 30:  # bars of 4 ms and 5 s: only a log axis shows both
        ax.set_xscale("log")
        ax.set_xlim(np.min(finite[:, 0] - finite[:, 1]) / 2, top * 6)
        plain_log_ticks(ax.xaxis)
    else:
        ax.set_xlim(0, top * 1.35)  # room for the labels


def _reference_line(ax, x: float, text: str):
    """A dashed vertical line with its label, when x is inside the axis."""
    low, high = ax.get_xlim()
    if low < x < high:
        ax.axvline(x, color="0.3", lw=1, ls="--")
        ax.annotate(f" {text}", (x, 0.01), xycoords=("data", "axes fraction"), ha="left",
                    va="bottom", fontsize=7, color="0.3",
                    bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1})


def write_chart(reports: list[Report], out_dir: Path, svgs: dict | None = None) -> Path:
    """compare.png: cost per month, p99 latency with its 95% CI, headroom; one bar per scenario.
    With `svgs`, also puts the chart there as inline SVG (for compare.html)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = [r.name for r in reports]
    with plt.rc_context(STYLE):
        # a row per scenario: as wide for six scenarios as for two, taller by a bar each
        fig, axes = plt.subplots(1, 3, figsize=(11.0, 1.6 + 0.42 * len(reports)), sharey=True)
        _panel(axes[0], labels, [r.metrics.cost_usd_per_month for r in reports], "Cost per month",
               "USD per month", fmt.money, "tab:blue")
        _panel(axes[1], labels, [r.metrics.latency_ms.p99 for r in reports],
               "p99 latency, end to end (95% CI)", "ms", lambda v: f"{fmt.num(v)} ms", "tab:red")
        targets = {r.objectives["p99_latency_ms"].target for r in reports}
        if len(targets) == 1:
            target = targets.pop()
            _reference_line(axes[1], target, f"objective {fmt.count(target)} ms")
        _panel(axes[2], labels, [r.metrics.headroom_x for r in reports],
               "Headroom to saturation", "× current load", fmt.times, "tab:green")
        _reference_line(axes[2], 1.0, "1× = saturated")
        fig.tight_layout()
        path = save(fig, out_dir / "compare.png", svgs, DPI)
    return path
