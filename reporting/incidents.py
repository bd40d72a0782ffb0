"""The failure matrix in a report: a table beside the document's claims, and one timeline per failure."""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from reporting import fmt  # noqa: E402
from reporting.svg import inline_svg  # noqa: E402

FIGURES = (("detection_s", "Detection", "s"), ("action_s", "Recovery action", "s"),
           ("rto_s", "RTO", "s"), ("downtime_s", "Downtime", "s"),
           ("failed_requests", "Failed requests", ""), ("lost_writes", "Writes lost", ""),
           ("lost_writes_span_s", "RPO span", "s"), ("p99_during_ms", "p99 during", "ms"),
           ("throughput_during_rps", "Throughput during", "req/s"), ("cost_usd", "Cost", "$"))
EVENT_COLORS = {"injected": "black", "detected": "tab:orange", "action": "tab:green",
                "alerted": "tab:purple", "repaired": "tab:blue", "recovered": "tab:blue"}


def _fig(entry: dict, key: str, unit: str) -> str:
    if unit == "$":
        value = fmt.mean(entry.get(key))
        return fmt.money(value) if value is not None else fmt.DASH
    text = fmt.figure(entry.get(key), unit)
    if key == "rto_s" and entry.get("not_recovered_replications"):
        text += f" ({entry['not_recovered_replications']} not recovered)"
    return text


def file_name(entry: dict) -> str:
    return "incident-" + re.sub(r"[^a-z0-9]+", "-", entry["name"].lower()).strip("-") + ".png"


def _tried_in_vain(check: dict) -> bool:
    """A claim that fails as designed and also under the condition the claims file names."""
    return "with_condition" in check and check["with_condition"]["verdict"] != "holds"


def render(report: dict) -> str:
    """The '## Failure matrix' section: simulated figures, then the claims they are judged against."""
    failures = report.get("failures") or []
    if not failures:
        return ""
    header = ["Failure", "What"] + [label for _, label, _ in FIGURES] + ["Verdict"]
    rows = [[f["name"], f"{f['component']} {f['kind']}"] + [_fig(f, k, u) for k, _, u in FIGURES]
            + [f"**{f.get('verdict', '–')}**"] for f in failures]
    parts = ["## Failure matrix", "Each failure injected alone at its time, mean over replications "
             "with the 95% interval; the verdict judges the document's claims (below).",
             fmt.table(header, rows)]
    checks = [[f["name"], c["figure"], c["claimed"], f"{c['op']} {fmt.num(c['value'])}",
               fmt.figure(f.get(c["figure"])), c["verdict"]
               + (f"; with {f['condition']['text']}: {fmt.figure(c['with_condition']['figure'])}, "
                  f"{c['with_condition']['verdict']}" if _tried_in_vain(c) else "")]
              for f in failures for c in f.get("checks", [])]
    if checks:
        parts += ["### The document's claims, judged",
                  fmt.table(["Failure", "Figure", "Document says", "Judged as", "Simulated", "Verdict"],
                            checks)]
    parts.append("### Timelines\n\n" + "\n".join(
        f"- {f['name']}: ![{f['name']}]({file_name(f)})" for f in failures))
    return "\n\n".join(parts)


def _events(ax, timeline: dict, labels: bool):
    for t, source, text, mark in timeline["events"]:
        if mark in EVENT_COLORS and t >= timeline["failure_at_s"] - 1:
            ax.axvline(t, color=EVENT_COLORS[mark], lw=0.8, ls="--", alpha=0.8)
            if labels:
                ax.text(t, 1.0, f" {text}", rotation=90, va="top", ha="right", fontsize=6,
                        transform=ax.get_xaxis_transform(), color=EVENT_COLORS[mark])


def timeline_plot(entry: dict):
    tl = entry["timeline"]
    t = np.arange(len(tl["throughput_rps"])) * tl["step_s"] + tl["step_s"] / 2
    p99 = np.array([np.nan if v is None else v for v in tl["p99_ms"]], dtype=float)
    fig, axes = plt.subplots(3, 1, figsize=(10, 7), sharex=True)
    axes[0].plot(t, tl["throughput_rps"], color="tab:green", lw=1)
    axes[0].set_ylabel("completions/s")
    axes[1].plot(t, p99, color="tab:red", lw=1)
    axes[1].set_yscale("log")
    axes[1].set_ylabel("p99 (ms)")
    axes[2].plot(t, np.asarray(tl["error_rate"]) * 100, color="tab:purple", lw=1)
    axes[2].set_ylabel("errors (%)")
    axes[2].set_xlabel("simulated time (s), replication 0, 0.5 s steps")
    for i, ax in enumerate(axes):
        _events(ax, tl, labels=i == 0)
        ax.grid(alpha=0.3)
    axes[0].set_title(f"{entry['name']}: {entry['component']} {entry['kind']} at {fmt.num(tl['failure_at_s'])} s"
                      f" — verdict: {entry.get('verdict', '–')}", fontsize=10)
    fig.tight_layout()
    return fig


def write_plots(report: dict, out_dir: Path, svgs: dict | None = None) -> list[Path]:
    """One timeline PNG per failure; with `svgs`, each also as inline SVG by file name."""
    written = []
    for entry in report.get("failures") or []:
        fig = timeline_plot(entry)
        path = Path(out_dir) / file_name(entry)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        if svgs is not None:
            svgs[path.name] = inline_svg(fig, path.stem)
        plt.close(fig)
        written.append(path)
    return written
