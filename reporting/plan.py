"""A plan's outputs: plan.json (the contract of sim.study.plan.search), plan.md, frontier.png (cost
against p99 of every simulated candidate, feasible or not)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from reporting import fmt, writer  # noqa: E402
from reporting.svg import save  # noqa: E402


def _fields(overrides: dict) -> str:
    return ", ".join(f"{k.split('.', 1)[-1]}={v}" for k, v in overrides.items()) or "as written"


def _figure(value: dict | None) -> str:
    if not value or value.get("mean") is None:
        return fmt.DASH
    return fmt.figure(value)


def _checks(checks: list[dict]) -> str:
    rows = [[c["failure"] or "(no failure)", c["figure"], c["target"], _figure(c["value"]),
             c["verdict"]] for c in checks]
    return fmt.table(["failure", "figure", "target", "value (95% CI)", "verdict"], rows)


def _analytic(figures: dict) -> str:
    """The analytic screen's figures of a candidate, beside the simulated ones."""
    tiers = []
    for tier, f in figures["tiers"].items():
        text = f"{tier} {fmt.pct(f['utilisation'])}"
        if "utilisation_one_lost" in f:
            lost = f["utilisation_one_lost"]
            text += f" ({'no server' if lost is None else fmt.pct(lost)} with one lost)"
        tiers.append(text)
    e = figures["erlang_c"]
    sojourn = fmt.DASH if e["cores_sojourn_ms"] is None else f"{fmt.num(e['cores_sojourn_ms'])} ms"
    return (f"Analytic screen: utilisation {', '.join(tiers)}; Erlang C per app server: "
            f"{fmt.num(e['offered_erlangs_per_server'])} erlangs, P(wait) {fmt.pct(e['p_wait'])}, "
            f"mean time in the cores {sojourn}, square-root staffing {e['square_root_staffing_cores']} "
            f"cores ({e['assumes']}).")


def _one(p: dict) -> list[str]:
    head = f"## Growth x{p['growth']:g} ({fmt.count(p['rate_rps'])} req/s)"
    c = p["chosen"]
    if c is None:
        lines = [head, "", f"No fleet among the {p['candidates']} candidates meets every check."]
    else:
        conf = c["confirmation"]
        lines = [head, "", f"**Chosen: {_fields(c['overrides'])}, {fmt.money(c['cost_usd_per_month'])} "
                 "per month.**", "", _checks(c["checks"]), "",
                 f"Confirmed with fresh seeds (seed {conf['seed']}): "
                 + ("every check holds." if conf["holds"] else f"**not confirmed**: {conf['excuse']}")]
        lines += ["", _analytic(c["analytic"])]
        for a in p["alternatives"]:
            lines.append(f"- alternative: {_fields(a['overrides'])}, {fmt.money(a['cost_usd_per_month'])}")
    if p["rejected"]:
        lines += ["", "Cheaper (or next) candidates rejected, with their excuse:", "",
                  fmt.table(["candidate", "cost/month", "excuse"],
                            [[_fields(r["overrides"]), fmt.money(r["cost_usd_per_month"]), r["excuse"]]
                             for r in p["rejected"]])]
    return lines + [""]


def markdown(plan: dict) -> str:
    b = plan["budget"]
    lines = [f"# Capacity plan of {plan['scenario']}", "",
             f"Seed {plan['seed']} for every candidate (common random numbers); a check passes "
             "only when its whole 95% interval meets the target.", ""]
    for p in plan["plans"]:
        lines += _one(p)
    r = plan.get("runway")
    if r:
        lo, hi = (fmt.num(v) if v is not None else "?" for v in r["ci95"])
        lines += ["## Runway", "",
                  (f"Today's fleet meets its objectives up to x{fmt.num(r['growth'])} of today's "
                   f"load ({lo}-{hi})." if r["found"] else f"Runway not found: {r['reason']}."), ""]
    lines += ["## Budget", "",
              f"{b['candidates_screened']} candidates screened, {b['candidates_simulated']} "
              f"simulated, {b['replications']:,} replications, {b['simulated_requests']:,} "
              f"simulated requests, {b['wall_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def frontier(plan: dict, out: Path, svgs: dict | None = None) -> Path | None:
    """Cost against p99 (no failure) of every simulated candidate, by growth factor."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = False
    for p in plan["plans"]:
        tried = ([p["chosen"]] if p["chosen"] else []) + p["alternatives"] + p["rejected"]
        pts = [(t["cost_usd_per_month"], c["value"]["mean"], t is p["chosen"])
               for t in tried for c in t.get("checks", [])
               if c["figure"] == "p99_latency_ms" and c["failure"] is None and c["value"]["mean"]]
        if not pts:
            continue
        drawn = True
        ax.scatter([x for x, _, _ in pts], [y for _, y, _ in pts], label=f"growth x{p['growth']:g}")
        ax.scatter([x for x, _, c in pts if c], [y for _, y, c in pts if c], s=160,
                   facecolors="none", edgecolors="k")
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("cost (USD per month)")
    ax.set_ylabel("p99 without failure (ms)")
    ax.set_yscale("log")
    ax.set_title("candidates simulated (circled: chosen)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, Path(out) / "frontier.png", svgs)


def write(plan: dict, claim) -> list[Path]:
    """plan.json, plan.md, plan.html and the plot, through the writer's claim on the directory."""
    return writer.write_study(claim, "plan", plan, markdown(plan),
                              lambda out, svgs: frontier(plan, out, svgs), "sessionsim: capacity plan")
