"""The README's tables of what the simulator says about the document, regenerated (minutes).

    python benchmarks/readme_figures.py [architectures matrix overload flash-sale] > /tmp/figures.md

Runs db-fleet, redis-single and peak (the architectures side by side), the failure matrix, and
peak.yaml at 80,000 req/s (the stability check), each as shipped (seed 1), and prints the
markdown tables the README quotes.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reporting import fmt  # noqa: E402
from sim.study.failure_entry import FailureEntry  # noqa: E402
from sim.study.failure_matrix import run  # noqa: E402
from sim.model.scenario import load  # noqa: E402
from sim.model.schema import Scenario  # noqa: E402


def scenario(name: str) -> Scenario:
    return load(ROOT / "scenarios" / f"{name}.yaml")


def architectures() -> str:
    reports = {name: run(scenario(name)) for name in ("db-fleet", "redis-single", "peak")}
    rows = [("cost per month (document's table B prices)",
             lambda r: fmt.money(r.cost.total_usd_per_month)),
            ("offered / carried at the 6,000 writes/s peak",
             lambda r: f"{fmt.num(r.stability.offered_rps)} / "
                       f"{fmt.num(fmt.mean(r.metrics.throughput_rps))} req/s"),
            ("p50 / p99", lambda r: f"{fmt.figure(r.metrics.latency_ms.p50, 'ms')} / "
                                    f"{fmt.figure(r.metrics.latency_ms.p99, 'ms')}"),
            ("headroom to saturation", lambda r: fmt.figure(r.metrics.headroom_x, "×")),
            ("steady", lambda r: "yes" if r.stability.steady else "no")]
    lines = ["| | " + " | ".join(reports) + " |", "| --- |" + " ---: |" * len(reports)]
    lines += [f"| {label} | " + " | ".join(cell(r) for r in reports.values()) + " |"
              for label, cell in rows]
    return "\n".join(lines)


def _figure(entry: FailureEntry, key: str) -> str:
    """A failure's figure in its unit: times as durations, error rates as percentages."""
    if key.endswith(("_s", "_ms")):
        return fmt.duration(entry.figure(key), "s" if key.endswith("_s") else "ms")
    return fmt.pct_figure(entry.figure(key)) if "error_rate" in key else fmt.figure(entry.figure(key))


def matrix() -> str:
    report = run(scenario("failure-matrix"))
    lines = ["| failure | detection | RTO | impaired | outage | failed requests | writes lost | "
             "p99 during | replications | verdict |", "| --- " * 10 + "|"]
    for f in report.failures:
        cells = [f.name, fmt.figure(f.detection_s, "s"), fmt.figure(f.rto_s, "s"),
                 fmt.figure(f.impaired_s, "s"), fmt.figure(f.outage_s, "s"),
                 fmt.figure(f.failed_requests), fmt.figure(f.lost_writes),
                 fmt.figure(f.p99_during_ms, "ms"), str(f.replications), f.verdict]
        lines.append("| " + " | ".join(cells) + " |")
    claims = ["", "| failure | the document says | figure | simulated | verdict |", "| --- " * 5 + "|"]
    for f in report.failures:
        for c in f.checks:
            simulated = _figure(f, c.figure) if c.figure != "impact" else \
                ", ".join(f"{p.figure} {_figure(f, p.figure)}" for p in c.parts or [])
            verdict = c.verdict + (f" ({c.note})" if c.note else "")
            claims.append(f"| {f.name} | {c.claimed} | {c.figure} | {simulated} | {verdict} |")
    return "\n".join(lines + claims)


def overload() -> str:
    data = scenario("peak").model_dump()
    data["workload"]["arrivals"]["rate_rps"] = 80_000
    report = run(Scenario.model_validate(data))
    st = report.stability
    verdicts = ", ".join(f"{k} {o.verdict}" for k, o in report.objectives.items())
    return (f"peak.yaml at 80,000 req/s: steady {st.steady}; " + "; ".join(st.reasons)
            + f"; objectives: {verdicts}")


def flash_sale() -> str:
    report = run(scenario("flash-sale"))
    st, w = report.stability, report.worst_window
    return (f"flash-sale.yaml: steady {st.steady}; " + "; ".join(st.reasons)
            + f"; failed requests {fmt.figure(report.metrics.failed_requests)} per run; worst minute "
            f"from {fmt.num(w.start_s)} s: error rate {fmt.pct_figure(w.error_rate)}, "
            f"{fmt.pct_figure(w.slower_than_p99_objective_share)} slower than the p99 objective; "
            f"cost {fmt.money(report.cost.total_usd_per_month)} per month")


PARTS = {"architectures": architectures, "matrix": matrix, "overload": overload,
         "flash-sale": flash_sale}

if __name__ == "__main__":
    for name in sys.argv[1:] or PARTS:
        print(PARTS[name](), end="\n\n", flush=True)
