"""Each way a claim of the ledger is judged (its `judge.how`), against a context of figures:
the price files, the runs, the failure matrix, the availability model, a calibration.

A judge returns one or more rows {verdict, figure, basis, reason?}; verdicts are "holds",
"fails", "holds only with <condition>", "uncertain" and "not judged" (always with a reason).
"""
from __future__ import annotations

import re

from sim.study.ledger.expr import Iv, compare, evaluate


NEEDS_CALIBRATION = ("needs a real server: run `python simulate.py calibrate --redis URL --postgres URL`, "
                     "then `claims --calibration calibration/calibration.json`")


class Missing(Exception):
    """A figure the claim needs is not in the context; the message says what would provide it."""


def lookup(context: dict, name: str):
    """A dotted name in the context: a number or a {"mean", "ci95"} figure."""
    node = context
    head = name.split(".")[0]
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            raise Missing(context["missing"].get(head, f"no figure {name}"))
        node = node[part]
    if isinstance(node, dict) and "mean" not in node:
        raise Missing(f"{name} is not a figure")
    return node


def _names(exprs: list[str], head: str) -> bool:
    """Does an expression name a figure under `head` (a run)?"""
    return any(re.search(rf"(?<![\w.]){re.escape(head)}\.", e) for e in exprs)


def _unsteady(context: dict, exprs: list[str]) -> str | None:
    for run, report in context.get("runs", {}).items():
        if _names(exprs, run) and not report["stability"]["steady"]:
            return f"run {run} not steady: " + "; ".join(report["stability"]["reasons"])
    return None


def _claimed(judge: dict) -> str:
    value = judge["value"]
    return f"{judge['op']} {value}" + (f" (±{judge['tol']:.2%})" if judge.get("tol") else "")


def _combined(verdicts: list[str]) -> str:
    for word in ("fails", "uncertain"):
        if word in verdicts:
            return word
    return "holds"


def by_expression(judge: dict, context: dict) -> list[dict]:
    """arithmetic and simulated: every expression recomputed, judged on its whole interval."""
    exprs = judge["expr"] if isinstance(judge["expr"], list) else [judge["expr"]]
    scope = {**context.get("prices", {}), **context.get("runs", {}),
             "matrix": {k.replace("-", "_"): v for k, v in context.get("matrix_entries", {}).items()},
             "availability": (context.get("availability") or {}).get("services", {}),
             "calibration": {r["metric"]: r["measured"] for r in context.get("calibration") or []
                             if r["measured"] is not None},
             "missing": context.get("missing", {}) | {"calibration": NEEDS_CALIBRATION}}
    reason = _unsteady(context, exprs)
    if reason:
        return [{"verdict": "not judged", "reason": reason}]
    try:
        values = [evaluate(e, lambda name: lookup(scope, name)) for e in exprs]
    except Missing as exc:
        return [{"verdict": "not judged", "reason": str(exc)}]
    verdicts = [compare(v, judge["op"], judge["value"], judge.get("tol", 0.0)) for v in values]
    cited = [f"run {name}: {r['scenario']['name']}, seed {r['seed']}, {r['replications']} replications"
             for name, r in context.get("runs", {}).items() if _names(exprs, name)]
    return [{"verdict": _combined(verdicts), "claimed": _claimed(judge),
             "figure": [v.figure() for v in values] if len(values) > 1 else values[0].figure(),
             "basis": "; ".join([f"{e} = {_show(v)}" for e, v in zip(exprs, values)] + cited)}]


def _show(v: Iv) -> str:
    return f"{v.mean:.6g}" if v.lo == v.hi else f"{v.mean:.6g} ({v.lo:.6g} to {v.hi:.6g})"


_OBJECTIVE = {"met": "holds", "missed": "fails", "uncertain": "uncertain"}


def by_objectives(judge: dict, context: dict) -> list[dict]:
    """Every objective of a run met (a not-steady run judges nothing)."""
    report = context.get("runs", {}).get(judge["run"])
    if report is None:
        return [{"verdict": "not judged", "reason": f"run {judge['run']} not available"}]
    objectives = report["objectives"]
    not_judged = [f"{k}: {o.get('reason', '')}" for k, o in objectives.items() if o["verdict"] == "not judged"]
    if not_judged:
        return [{"verdict": "not judged", "reason": "; ".join(not_judged)}]
    verdicts = [_OBJECTIVE[o["verdict"]] for o in objectives.values()]
    basis = ", ".join(f"{k} {o['verdict']} ({o['operator']} {o['target']}: {_show(Iv.of(o['value']))})"
                      for k, o in objectives.items())
    return [{"verdict": _combined(verdicts), "claimed": "every objective of the run met",
             "basis": f"run {judge['run']} ({report['scenario']['name']}, seed {report['seed']}, "
                      f"{report['replications']} replications): {basis}"}]


def by_matrix(judge: dict, context: dict) -> list[dict]:
    """The failure matrix's own verdicts (sim/study/claims.py), one row per figure."""
    entry = context.get("matrix_entries", {}).get(judge["failure"])
    if entry is None:
        return [{"verdict": "not judged", "reason": f"the failure matrix has no row {judge['failure']}"}]
    checks = {c["figure"]: c for c in entry["checks"]}
    rows = []
    for figure in judge["figures"]:
        check = checks.get(figure)
        if check is None:
            rows.append({"figure_name": figure, "verdict": "not judged",
                         "reason": f"doc-failure-matrix.yaml claims no {figure} for {judge['failure']}"})
            continue
        verdict = "not judged" if check["verdict"] == "no data" else check["verdict"]
        row = {"figure_name": figure, "verdict": verdict, "claimed": check.get("claimed", ""),
               "figure": entry.get(figure) if figure != "impact" else None,
               "basis": (f"failure matrix, {judge['failure']}, {entry['replications']} replications"
                         + (f"; {check['note']}" if check.get("note") else "")
                         + (f"; means: {check['means']}" if check.get("means") else ""))}
        if verdict == "not judged":
            row["reason"] = "no figure (the event did not happen in the run)"
        rows.append(row)
    return rows


def by_availability(judge: dict, context: dict) -> list[dict]:
    result = context.get("availability")
    if result is None:
        return [{"verdict": "not judged", "reason": "no availability model (no failure matrix)"}]
    s = result["services"][judge["service"]]
    q = s["impaired_min_year_quantiles"]
    return [{"verdict": s["verdict"], "claimed": f">= {s['target']}", "figure": s["availability"],
             "basis": (f"availability model ({result['years']:,} years, seed {result['seed']}): "
                       f"{s['impaired_min_per_year']['mean']:.1f} impaired min a year (budget "
                       f"{s['budget_min_per_year']:.1f}); a year p50/p90/p99 {q['p50']:.1f}/{q['p90']:.1f}/"
                       f"{q['p99']:.1f} min; P(a year meets it) {s['p_year_meets_target']['mean']:.3f}; "
                       f"naive product {s['naive_product']:.7f}")}]


def by_calibration(judge: dict, context: dict) -> list[dict]:
    rows = context.get("calibration")
    if rows is None:
        return [{"verdict": "not judged", "reason": NEEDS_CALIBRATION}]
    row = next((r for r in rows if r["claim"] == judge["claim"]), None)
    if row is None or row["verdict"] not in ("holds", "fails"):
        return [{"verdict": "not judged", "reason": f"the calibration does not measure {judge['claim']}"}]
    return [{"verdict": row["verdict"], "claimed": row["claimed"],
             "figure": {"mean": row["measured"], "ci95": [None, None]},
             "basis": f"calibration: {row['metric']} = {row['measured']} {row['unit']}"}]


def not_judged(judge: dict, context: dict) -> list[dict]:
    return [{"verdict": "not judged", "reason": judge["reason"]}]


JUDGES = {"arithmetic": by_expression, "simulated": by_expression, "objectives": by_objectives,
          "matrix": by_matrix, "availability": by_availability, "calibration": by_calibration,
          "not_judged": not_judged}
