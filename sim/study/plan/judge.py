"""A candidate fleet judged by simulation: its objectives at the planned load, then each failure
of the matrix alone against the claims file's targets. Every check keeps the tool's rule: it
passes only when the whole 95% interval meets the target; replications are added while one is
uncertain (simulation.until_decided, forced on), up to simulation.max_replications."""
from __future__ import annotations

from sim.study import claims, failure_matrix, runner
from sim.study.report import Report
from sim.model.schema import Scenario
from sim.study.sweep import run_points

PASS = ("met", "holds")


def _decided(scenario: Scenario) -> Scenario:
    data = scenario.simulation.model_dump() | {"until_decided": True}
    return scenario.model_copy(update={"simulation": type(scenario.simulation)(**data)})


def objective_checks(report: Report) -> list[dict]:
    out = []
    for name, o in report.objectives.items():
        check = {"figure": name, "failure": None, "target": f"{o.operator} {o.target:g}",
                 "value": o.value, "verdict": o.verdict}
        if o.reason:
            check["reason"] = o.reason
        out.append(check)
    return out


def healthy(executor, scenario: Scenario) -> tuple[Report, list[dict]]:
    """(the report of the run without failures, its objective checks)."""
    report = run_points(executor, [_decided(scenario.model_copy(update={"failures": []}))])[0]
    return report, objective_checks(report)


def failure_checks(scenario: Scenario, order: list[str]) -> list[dict]:
    """Each failure the plan must survive, run alone, its targets judged (on the executor set
    with runner.use_executor), until one does not pass. `order`: failure names, the last to
    rule a candidate out first (moved there when one does: fail fast)."""
    plan, book = scenario.plan, claims.load(scenario)
    names = plan.failures
    chosen = [f for f in scenario.failures if names is None or f.name in names]
    rank = {name: i for i, name in enumerate(order)}
    out = []
    for failure in sorted(chosen, key=lambda f: rank.get(f.name, len(rank))):
        claim = {k: v for k, v in (book["failures"].get(failure.name) or {}).items()
                 if k in plan.targets}
        alone = _decided(scenario.model_copy(update={"failures": [failure]}))
        judged = failure_matrix.judge_failure(alone, failure, claim, book["impact_words"])
        _, _, entry, _ = runner.sequential(alone, judged)
        for c in entry.checks:
            out.append({"figure": c.figure, "failure": failure.name,
                        "target": f"{c.op} {c.value:g}", "value": entry.figure(c.figure),
                        "verdict": c.verdict, "claimed": c.claimed,
                        "replications": entry.replications})
        if first_failing(out):
            if failure.name in order:
                order.remove(failure.name)
            order.insert(0, failure.name)
            break
    return out


def excuse(check: dict) -> str:
    """Why a check rules a candidate out, in one line: the figure, its interval, the target."""
    where = f"{check['failure']}: " if check["failure"] else ""
    if check.get("reason"):
        return f"{where}{check['figure']} {check['verdict']} ({check['reason']})"
    mean, (lo, hi) = check["value"]["mean"], check["value"]["ci95"]
    shown = "no figure" if mean is None else f"{mean:.4g}" + (
        f" ({lo:.4g}-{hi:.4g})" if lo is not None else "")
    return f"{where}{check['figure']} {shown} against {check['target']}: {check['verdict']}"


def first_failing(checks: list[dict]) -> dict | None:
    """The check that rules the candidate out: a miss before an uncertain verdict."""
    bad = [c for c in checks if c["verdict"] not in PASS]
    decided = [c for c in bad if c["verdict"] != "uncertain"]
    return (decided or bad or [None])[0]


def evaluate(executor, scenario: Scenario, order: list[str] | None = None) -> dict:
    """{"checks" (up to the first that does not pass), "excuse" (None when every check passes), "missed_objectives" (bool: a decided
    miss of the healthy objectives, which prunes smaller fleets), "report" (healthy)}."""
    report, checks = healthy(executor, scenario)
    bad = first_failing(checks)
    if bad is None:
        before = runner.use_executor(executor)
        try:
            checks += failure_checks(scenario, [] if order is None else order)
        finally:
            runner.use_executor(before)
        bad = first_failing(checks)
    return {"checks": checks, "excuse": excuse(bad) if bad else None, "report": report,
            "missed_objectives": bad is not None and bad["failure"] is None
            and bad["verdict"] in ("missed", "not judged")}
