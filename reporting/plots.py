"""The report's plots: timeline.png, utilisation.png, cost.png (matplotlib, Agg backend)."""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from reporting import fmt  # noqa: E402
from reporting.figures import window  # noqa: E402
from reporting.svg import save  # noqa: E402
from sim.study.report import Report  # noqa: E402

MAX_POINTS = 1000  # longer series are averaged in blocks: a day has 86,400 seconds
DPI = 110
STYLE = {"axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "font.size": 9, "axes.titlesize": 10}


def write_plots(report: Report, out_dir: Path, svgs: dict | None = None) -> list[Path]:
    """Writes the plots the report has data for; returns their paths. With `svgs`, also puts each
    plot there as inline SVG, by file name (for report.html)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with plt.rc_context(STYLE):
        for file, draw in (("timeline.png", timeline), ("utilisation.png", utilisation),
                           ("cost.png", cost)):
            fig = draw(report)
            if fig is not None:
                written.append(save(fig, out_dir / file, svgs, DPI))
    return written


def plain_log_ticks(axis):
    """A log axis labelled 1, 10, 100 (and 2, 5 between when it spans few decades), not 10^0
    or 9x10^0."""
    low, high = axis.get_view_interval()
    decades = np.log10(max(high, 1e-12) / max(low, 1e-12))
    axis.set_major_locator(LogLocator(base=10, subs=(1.0,) if decades > 3 else (1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.6g}"))
    axis.set_minor_formatter(NullFormatter())


def _array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _time_unit(duration_s: float) -> tuple[float, str]:
    if duration_s > 4 * 3600:
        return 3600.0, "h"
    if duration_s > 900:
        return 60.0, "min"
    return 1.0, "s"


def _binned(step_s: float, values, duration_s: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(mid-bin times in s, values) of a series of step_s bins, cut at the run's end and averaged
    in blocks to at most MAX_POINTS points."""
    y = _array(values)
    if duration_s:
        y = y[: int(np.ceil(duration_s / step_s))]  # the recorder keeps one bin past the end
    block = max(1, int(np.ceil(len(y) / MAX_POINTS)))
    if block > 1:
        pad = (-len(y)) % block
        y = np.concatenate([y, np.full(pad, np.nan)]).reshape(-1, block)
        with warnings.catch_warnings():  # an all-NaN block is a gap, not an error
            warnings.simplefilter("ignore", RuntimeWarning)
            y = np.nanmean(y, axis=1)
    t = (np.arange(len(y)) + 0.5) * step_s * block
    return t, y


def _shade_warmup(ax, warmup_s: float | None, unit: float, label: bool = True):
    if warmup_s:
        ax.axvspan(0, warmup_s / unit, color="0.6", alpha=0.18, lw=0,
                   label="warm-up (not measured)" if label else None)


def _mark_failures(ax, report: Report, unit: float, label: bool = True):
    """The scenario's injected failures: a red dashed line at each, dotted at its repair (none
    on a failure matrix's healthy baseline, the run these plots draw)."""
    if report.healthy_baseline:
        return
    for f in report.scenario.failures:
        ax.axvline(f.at_s / unit, color="tab:red", ls="--", lw=1, alpha=0.8)
        if f.repair_after_s:
            ax.axvline((f.at_s + f.repair_after_s) / unit, color="tab:red", ls=":", lw=1)
        if label:
            ax.annotate(f" {f.name}", (f.at_s / unit, 1.0),
                        xycoords=("data", "axes fraction"), va="top", ha="left", fontsize=7,
                        color="tab:red", rotation=90,
                        bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 1})


def timeline(report: Report):
    series = report.series
    duration, warmup = window(report)
    unit, uname = _time_unit(duration)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.2), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 1]})
    for key, label, color, lw in (("arrivals_rps", "arrivals", "tab:blue", 3.5),
                                  ("completions_rps", "completions", "tab:green", 1.3),
                                  ("failures_rps", "failures", "tab:red", 1.3)):
        t, y = _binned(series.step_s, getattr(series, key), duration)
        if len(y):
            none = " (none)" if not np.nansum(y) else ""
            top.plot(t / unit, y, label=label + none, color=color, lw=lw,
                     alpha=0.45 if lw > 2 else 1.0)
    top.set_ylabel("requests per second")
    top.set_ylim(bottom=0)
    top.set_title(f"Scenario {report.name}: throughput (mean over {report.replications} replications)")
    _shade_warmup(top, warmup, unit)
    _mark_failures(top, report, unit)
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    _latency_panel(bottom, report, duration, warmup, unit)
    bottom.set_xlabel(f"simulated time ({uname})")
    bottom.set_xlim(0, duration / unit)
    fig.tight_layout()
    return fig


def _latency_panel(ax, report: Report, duration, warmup, unit: float):
    rows, step = report.series.latency_ms_p50_p95_p99, report.series.latency_step_s
    q = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=float)
    if q.size:
        for i, (label, color) in enumerate((("p50", "tab:blue"), ("p95", "tab:orange"),
                                            ("p99", "tab:red"))):
            t, y = _binned(step, q[:, i], duration)
            ax.plot(t / unit, y, label=label, color=color, lw=1.3, marker="." if len(y) < 40 else None)
        finite = q[np.isfinite(q) & (q > 0)]
        if finite.size and finite.max() / finite.min() > 30:
            ax.set_yscale("log")
            plain_log_ticks(ax.yaxis)
        elif finite.size:
            ax.set_ylim(0, finite.max() * 1.15)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, "no latency series", ha="center", va="center", transform=ax.transAxes)
    _shade_warmup(ax, warmup, unit, label=False)
    _mark_failures(ax, report, unit, label=False)
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"End-to-end latency percentiles per {fmt.count(step)} s step "
                 "(mean over replications)")


def _node_groups(report: Report) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Per-second utilisation by node kind, nodes idle throughout left out."""
    groups: dict[str, list] = {}
    for node, s in report.series.nodes.items():
        y = _array(s.utilisation)
        if y.size and np.nanmax(np.nan_to_num(y, nan=0.0)) > 0:
            groups.setdefault(report.nodes[node].kind, []).append((node, y))
    return groups


def _node_label(report: Report, node: str) -> str:
    role, kind = report.nodes[node].role, report.nodes[node].kind
    return node if role == kind else f"{node} ({role})"


def utilisation(report: Report):
    groups = _node_groups(report)
    if not groups:
        return None
    duration, warmup = window(report)
    step = report.series.step_s
    unit, uname = _time_unit(duration)
    fig, axes = plt.subplots(len(groups), 1, figsize=(9.5, 1.0 + 1.7 * len(groups)),
                             sharex=True, squeeze=False)
    for ax, (kind, members) in zip(axes[:, 0], groups.items()):
        colors = plt.get_cmap("tab10" if len(members) <= 10 else "viridis")(
            np.linspace(0, 1, len(members)) if len(members) > 10 else np.arange(len(members)))
        for (node, y), color in zip(members, colors):
            t, yy = _binned(step, y, duration)
            ax.plot(t / unit, yy * 100, color=color, lw=1.2, label=_node_label(report, node))
        _shade_warmup(ax, warmup, unit, label=False)
        _mark_failures(ax, report, unit, label=False)
        top = max(np.nanmax(_binned(step, y, duration)[1]) for _, y in members) * 100
        ax.set_ylim(0, min(105, max(5.0, top * 1.25)))
        ax.set_ylabel("busy (%)")
        ax.set_title(kind.replace("_", " "), loc="left", fontsize=9, fontweight="bold")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5, frameon=False,
                  ncol=1 if len(members) <= 8 else 2)
    axes[0, 0].set_xlim(0, duration / unit)
    axes[-1, 0].set_xlabel(f"simulated time ({uname})")
    note = "; shaded: warm-up" if warmup else ""
    fig.suptitle(f"Scenario {report.name}: utilisation per node, busy servers / servers "
                 f"(mean over replications; idle nodes left out{note})", fontsize=10)
    fig.tight_layout()
    return fig


def cost_lines(report: Report) -> list[tuple[str, float, bool]]:
    """(label, USD per month, is a fixed line) for every cost line, the largest first."""
    cost = report.cost
    lines = [(f"{k} × {fmt.count(v.count)}", float(v.usd_per_month), False)
             for k, v in cost.nodes.items()]
    lines += [(k, float(v), True) for k, v in cost.fixed_usd_per_month.items()]
    return sorted(lines, key=lambda line: -line[1])


def cost(report: Report):
    lines = cost_lines(report)
    if not lines:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.32 * len(lines)))
    labels = [label for label, _, _ in lines][::-1]
    values = [usd for _, usd, _ in lines][::-1]
    colors = ["tab:gray" if fixed else "tab:blue" for _, _, fixed in lines][::-1]
    bars = ax.barh(labels, values, color=colors)
    ax.bar_label(bars, labels=[fmt.money(v) for v in values], padding=3, fontsize=8)
    ax.set_xlim(0, max(values) * 1.15 or 1)
    ax.set_xlabel("USD per month")
    ax.grid(axis="y", visible=False)
    ax.set_title(f"Scenario {report.name}: cost {fmt.money(report.cost.total_usd_per_month)} "
                 f"per month (prices: {report.cost.price_file})")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("tab:blue", "tab:gray")]
    ax.legend(handles, ["nodes (count × unit price)", "fixed"], loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
