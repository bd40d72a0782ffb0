"""A sweep's outputs: sweep.json (points, find_max), sweep.md (the table), sweep.png (each
headline figure against the first varied field, with its 95% interval)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from reporting import fmt, writer  # noqa: E402
from reporting.svg import save  # noqa: E402

PANELS = (("throughput_rps", "throughput (req/s)", 1), ("p50_ms", "p50 (ms)", 1),
          ("p99_ms", "p99 (ms)", 1), ("error_rate", "error rate (%)", 100),
          ("bottleneck_utilisation", "bottleneck utilisation (%)", 100),
          ("cost_usd_per_month", "cost (USD/month)", 1))


def _values(point: dict) -> str:
    return ", ".join(f"{p.rsplit('.', 1)[-1]}={v}" for p, v in point["values"].items())


def markdown(result: dict) -> str:
    rows = [[_values(p), fmt.figure(p["throughput_rps"]), fmt.figure(p["p50_ms"], "ms"),
             fmt.figure(p["p99_ms"], "ms"), fmt.pct_figure(p["error_rate"]),
             f"{p['bottleneck_utilisation']['node']} {fmt.pct_figure(p['bottleneck_utilisation'])}",
             fmt.money(p["cost_usd_per_month"]["mean"]), p["replications"],
             p["meets_objectives"] + ("" if p["steady"] else " (not steady)")]
            for p in result["points"]]
    lines = [f"# Sweep of {result['scenario']}", "",
             f"Seed {result['seed']}; means with 95% intervals over the replications; the "
             "objectives are met only when every interval is within its target.", "",
             fmt.table(["values", "throughput (req/s)", "p50", "p99", "error rate",
                        "bottleneck", "cost/month", "reps", "objectives"], rows)]
    fm = result.get("find_max")
    if fm:
        lines += ["", "## Capacity knee", "", find_max_line(fm), "",
                  "The value is where the objectives' means cross their targets; the interval "
                  "runs from the highest value probed at which every objective was met (whole "
                  "interval) to the lowest at which one was missed or the run was not steady."]
    return "\n".join(lines) + "\n"


def find_max_line(fm: dict) -> str:
    if not fm["found"]:
        return f"max {fm['path']}: not found ({fm['reason']})"
    lo, hi = (fmt.num(v) if v is not None else "?" for v in fm["ci95"])
    return f"max {fm['path']} = {fmt.num(fm['value'])} ({lo}-{hi})"


def plot(result: dict, out: Path, svgs: dict | None = None) -> Path | None:
    points = result["points"]
    if not points:
        return None
    path = next(iter(points[0]["values"]))
    series: dict = {}
    for p in points:
        rest = _values({"values": {k: v for k, v in p["values"].items() if k != path}})
        series.setdefault(rest, []).append(p)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, (key, label, scale) in zip(axes.flat, PANELS):
        for rest, ps in series.items():
            x = [p["values"][path] for p in ps]
            y = [(p[key]["mean"] or 0) * scale for p in ps]
            err = [[max(0.0, y_ - (p[key]["ci95"][0] or p[key]["mean"] or 0) * scale) for y_, p in zip(y, ps)],
                   [max(0.0, (p[key]["ci95"][1] or p[key]["mean"] or 0) * scale - y_) for y_, p in zip(y, ps)]]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=rest or None)
        ax.set_title(label)
        ax.set_xlabel(path)
        ax.grid(alpha=0.3)
    if len(series) > 1:
        axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return save(fig, Path(out) / "sweep.png", svgs)


def write(result: dict, claim) -> list[Path]:
    """sweep.json, sweep.md, sweep.html and the plot, through the writer's claim on the directory."""
    return writer.write_study(claim, "sweep", result, markdown(result),
                              lambda out, svgs: plot(result, out, svgs), "sessionsim: what-if sweep")
