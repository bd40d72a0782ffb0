"""The failure matrix in a report: a table beside the document's claims, and one timeline per failure."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from reporting import fmt  # noqa: E402
from reporting.plots import plain_log_ticks  # noqa: E402
from reporting.svg import save  # noqa: E402
from sim.study.failure_entry import Check, FailureEntry, Timeline  # noqa: E402
from sim.study.report import Report  # noqa: E402

TIMING = (("detection_s", "Detection", "s"), ("action_s", "Recovery action", "s"),
          ("rto_s", "RTO", "s"), ("impaired_s", "Impaired", "s"), ("outage_s", "Outage", "s"))
IMPACT = (("failed_requests", "Failed requests", ""), ("lost_writes", "Writes lost", ""),
          ("lost_writes_span_s", "RPO span", "s"), ("p99_during_ms", "p99 during", "ms"),
          ("throughput_during_rps", "Throughput during", "req/s"), ("cost_usd", "Cost", "$"))
FIGURES = TIMING + IMPACT + (("slowdown_x", "Slowdown", "×"),
                             ("error_rate_during", "Error rate during", "%"),
                             ("error_rate_beyond_writes_during", "Error rate beyond writes", "%"))
EVENT_COLORS = {"injected": "black", "detected": "tab:orange", "action": "tab:green",
                "alerted": "tab:purple", "repaired": "tab:blue", "recovered": "tab:blue"}
UNITS = {k: unit for k, _, unit in FIGURES}
OPS = {"<": "<", "<=": "≤", ">=": "≥"}


def _format(value: dict | None, unit: str) -> str:
    """A figure in its unit: times in the unit they read best in, a rate without its unit (the
    header has it), dollars, a factor."""
    if unit == "$":
        return fmt.money(fmt.mean(value))
    if unit == "%":
        return fmt.pct_figure(value)
    if unit in ("s", "ms"):
        return fmt.duration(value, unit)
    return fmt.figure(value, unit="×" if unit == "×" else "").replace(" ×", "×")


def _fig(entry: FailureEntry, key: str, unit: str) -> str:
    text = _format(entry.figure(key), unit)
    if key == "rto_s" and entry.not_recovered_replications:
        text += f" ({entry.not_recovered_replications} not recovered)"
    return text


def header(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit == "req/s" else label


def file_name(entry: FailureEntry) -> str:
    return "incident-" + re.sub(r"[^a-z0-9]+", "-", entry.name.lower()).strip("-") + ".png"


def cells(entry: FailureEntry, figures: tuple) -> list[str]:
    """A failure's figures, formatted as the failure matrix shows them."""
    return [_fig(entry, key, unit) for key, _, unit in figures]


def _claim(check: Check) -> tuple[str, str]:
    """(the figure's label, the claim as judged: '< 5 s')."""
    if check.figure == "impact":
        return "Impact", ("not judged" if check.parts is None else ", ".join(
            f"{_label(p.figure)} {OPS[p.op]} {p.value:,g}" for p in check.parts))
    unit = UNITS[check.figure]
    value = f"{check.value:,g}" + ("" if not unit or unit == "×" else " ") + (
        unit if unit in ("s", "ms", "×") else "")
    return _label(check.figure), f"{OPS[check.op]} {value}"


def _label(key: str) -> str:
    return next(label for k, label, _ in FIGURES if k == key)


def _simulated(entry: FailureEntry, check: Check, short: bool = False) -> str:
    """The judged figure; for an impact word each of its figures (`short`: without labels)."""
    if check.figure != "impact":
        return _fig(entry, check.figure, UNITS[check.figure])
    return "; ".join(("" if short else f"{_label(p.figure)} ") + _fig(entry, p.figure, UNITS[p.figure])
                     for p in check.parts or []) or fmt.DASH


def _verdict(check: Check) -> str:
    verdict = "holds with the condition" if check.verdict.startswith("holds only") else check.verdict
    return verdict + (f"; {check.note}" if check.note else "")


def judged(entry: FailureEntry, check: Check) -> str:
    """'RTO < 5 s: 8.48 s (7.97–8.99), fails'."""
    return f"{' '.join(_claim(check))}: {_simulated(entry, check)}, {check.verdict}"


def _condition_note(entry: FailureEntry) -> str:
    """'- app-server, with option redispatch: RTO 8.48 s (7.97–8.99), fails.' or ''."""
    tried = [c for c in entry.checks if c.with_condition is not None]
    if not tried:
        return ""
    outcome = "; ".join(
        _claim(c)[0]
        + ("" if c.figure == "impact" else f" {_format(c.with_condition.figure, UNITS[c.figure])}")
        + f", {c.with_condition.verdict}" for c in tried)
    return textwrap.fill(f"- {entry.name}, with {entry.condition.text}: {outcome}.",
                         width=100, subsequent_indent="  ")


def _cut(text: str, width: int = 44) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _claims_table(entry: FailureEntry) -> str:
    """One failure's claims: a table per failure keeps report.md within 160 columns."""
    rows = [[f"Impact: {c.claimed}" if c.figure == "impact" else " ".join(_claim(c)),
             _cut(c.claimed), _simulated(entry, c, short=True), _verdict(c)]
            for c in entry.checks]
    return f"**{entry.name}**\n\n" + fmt.table(
        ["Claim, as judged", "The document says", "Simulated (95% CI)", "Verdict"], rows)


def _claims(failures: list[FailureEntry]) -> str:
    """Each claim of the document judged; the conditions tried listed below the tables."""
    tables = [_claims_table(f) for f in failures if f.checks]
    if not tables:
        return ""
    text = "### The document's claims, judged\n\n" + "\n\n".join(tables)
    notes = [n for n in map(_condition_note, failures) if n]
    if notes:
        text += ("\n\nWhere a claim fails, the claims file may name a condition under which it "
                 "could hold;\nthe matrix ran it:\n\n" + "\n".join(notes))
    words = {c.claimed: f"{_claim(c)[1]}: {c.means}" for f in failures
             for c in f.checks if c.figure == "impact"}
    if words:
        text += ("\n\nThe document's performance-impact words, as the claims file defines them:\n\n"
                 + "\n".join(textwrap.fill(f"- *{w}*: {m}", width=100, subsequent_indent="  ")
                              for w, m in words.items()))
    undecided = [f"{f.name} ({', '.join(f.undecided)})" for f in failures if f.undecided]
    text += "\n\n" + textwrap.fill(
        "Replications per failure: " + ", ".join(f"{f.name} {f.replications}" for f in failures) + "."
        + (f" Still uncertain: {'; '.join(undecided)}." if undecided else ""), width=100)
    return text


def _degradation(failures: list[FailureEntry]) -> str:
    """Per failure: its run's headline, and the incident against the baseline before it."""
    runs = [[f.name, fmt.figure(f.run.offered_rps), fmt.figure(f.run.throughput_rps),
             fmt.pct_figure(f.run.error_rate), fmt.duration(f.run.p99_ms, "ms")]
            for f in failures]
    during = [[f.name, f"{fmt.figure(f.baseline_throughput_rps)} → {fmt.figure(f.throughput_during_rps)}",
               f"{fmt.duration(f.baseline_p99_ms, 'ms')} → {fmt.duration(f.p99_during_ms, 'ms')}",
               fmt.pct_figure(f.error_rate_during)] for f in failures]
    return ("### Each failure's run\n\nThe whole measured window of the run with that failure.\n\n"
            + fmt.table(["Failure", "Offered (req/s)", "Throughput (req/s)", "Error rate", "p99"], runs)
            + "\n\n### Degradation\n\nFrom the failure to recovery (the end of the run when there is "
            "none), against the same run before the failure.\n\n"
            + fmt.table(["Failure", "Throughput before → during (req/s)", "p99 before → during",
                         "Error rate during"], during))


def render(report: Report) -> str:
    """The '## Failure matrix' section: timing and impact, the claims judged, the timelines."""
    failures = report.failures
    if not failures:
        return ""
    timing = fmt.table(["Failure", "What"] + [label for _, label, _ in TIMING] + ["Verdict"],
                       [[f.name, f"{f.component} {f.kind}"] + cells(f, TIMING) + [f"**{f.verdict}**"]
                        for f in failures])
    impact = fmt.table(["Failure"] + [header(label, unit) for _, label, unit in IMPACT],
                       [[f.name] + cells(f, IMPACT) for f in failures])
    parts = ["## Failure matrix",
             "Each failure injected alone at its time; means over replications with their 95%\n"
             "interval. The verdict judges the document's claims (below). Impaired: the time outside\n"
             "the objectives after the failure; outage: the longest span in which nothing succeeds.",
             "### Timing\n\n" + timing, "### Impact\n\n" + impact, _degradation(failures),
             _claims(failures),
             "### Timelines\n\nReplication 0 around each failure; the numbered events are listed "
             "under each plot.\n\n" + "\n\n".join(f"![{f.name}]({file_name(f)})" for f in failures)]
    return "\n\n".join(p for p in parts if p)


def marked_events(timeline: Timeline) -> list[tuple[float, str, str]]:
    """(time, mark, text) of the events drawn: the marked ones from a second before the failure."""
    return [(t, mark, text) for t, _, text, mark in timeline.events
            if mark in EVENT_COLORS and t >= timeline.failure_at_s - 1]


def _groups(events: list, span_s: float) -> list[list[int]]:
    """Indices of the events, grouped when closer than 1% of the plot's span (one marker)."""
    groups: list[list[int]] = []
    for i, (t, _, _) in enumerate(events):
        if groups and t - events[groups[-1][0]][0] < 0.01 * span_s:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _numbers(group: list[int]) -> str:
    return str(group[0] + 1) if len(group) == 1 else f"{group[0] + 1}–{group[-1] + 1}"


def _mark_events(axes, events: list, span_s: float):
    """A dashed line per event, and above the top panel its number; markers closer than 4% of
    the span alternate between two heights, so that their numbers never overlap."""
    for t, mark, _ in events:
        for ax in axes:
            ax.axvline(t, color=EVENT_COLORS[mark], lw=0.8, ls="--", alpha=0.8)
    last_t, level = None, 0
    for group in _groups(events, span_s):
        t, mark, _ = events[group[0]]
        level = 1 - level if last_t is not None and t - last_t < 0.04 * span_s else 0
        last_t = t
        axes[0].text(t, 1.03 + 0.13 * level, _numbers(group), ha="center", va="bottom", fontsize=7.5,
                     color=EVENT_COLORS[mark], transform=axes[0].get_xaxis_transform(),
                     bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": EVENT_COLORS[mark],
                           "lw": 0.6})


def _event_lines(events: list) -> list[str]:
    """The legend below the plot: number, time, kind of event, what happened (wrapped)."""
    lines = []
    for i, (t, mark, text) in enumerate(events, 1):
        lines += textwrap.wrap(f"{i:>2}  {t:7.2f} s  {mark:<10} {text}", width=118,
                               subsequent_indent=" " * 26) or [""]
    return lines


def timeline_plot(entry: FailureEntry):
    tl = entry.timeline
    t = np.arange(len(tl.throughput_rps)) * tl.step_s + tl.step_s / 2
    p99 = np.array([np.nan if v is None else v for v in tl.p99_ms], dtype=float)
    events = marked_events(tl)
    lines = _event_lines(events)
    fig = plt.figure(figsize=(10, 7 + 0.16 * len(lines)))
    grid = fig.add_gridspec(4, 1, height_ratios=[1, 1, 1, 0.3 + 0.09 * len(lines)], hspace=0.25)
    axes = [fig.add_subplot(grid[0])]
    axes += [fig.add_subplot(grid[i], sharex=axes[0]) for i in (1, 2)]
    axes[0].plot(t, tl.throughput_rps, color="tab:green", lw=1)
    axes[0].set_ylabel("completions/s")
    axes[1].plot(t, p99, color="tab:red", lw=1)
    axes[1].set_yscale("log")
    plain_log_ticks(axes[1].yaxis)
    axes[1].set_ylabel("p99 (ms)")
    axes[2].plot(t, np.asarray(tl.error_rate) * 100, color="tab:purple", lw=1)
    axes[2].set_ylabel("errors (%)")
    axes[2].set_xlabel("simulated time (s), replication 0, 0.5 s steps")
    for ax in axes[:2]:
        ax.tick_params(labelbottom=False)
    for ax in axes:
        ax.grid(alpha=0.3)
    _mark_events(axes, events, len(t) * tl.step_s)
    axes[0].set_title(f"{entry.name}: {entry.component} {entry.kind} at "
                      f"{fmt.num(tl.failure_at_s)} s — verdict: {entry.verdict}",
                      fontsize=10, pad=24)
    legend = fig.add_subplot(grid[3])
    legend.axis("off")
    legend.text(0, 0.97, "\n".join(["", "events (number, time, kind, what)"] + lines), va="top",
                ha="left", fontsize=7.5, family="monospace", transform=legend.transAxes)
    return fig


def write_plots(report: Report, out_dir: Path, svgs: dict | None = None) -> list[Path]:
    """One timeline PNG per failure; with `svgs`, each also as inline SVG by file name."""
    written = []
    for entry in report.failures:
        fig = timeline_plot(entry)
        written.append(save(fig, Path(out_dir) / file_name(entry), svgs))
    return written
