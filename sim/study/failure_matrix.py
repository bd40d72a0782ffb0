"""Failures in a scenario: each measured (one at a time when the scenario is a matrix), judged
against the design document's claims (sim.study.claims), and, where a claim fails or stays uncertain,
tried under its stated condition."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from sim.study import claims, incident, runner, summary
from sim.study.failure_entry import Condition, FailureEntry, RunFigures, Timeline, WithCondition
from sim.study.report import Report
from sim.engines.results import Replication
from sim.model.scenario import resolved
from sim.model.schema import Scenario
from sim.study.stats import ci_tree
from sim.model.yamlio import merge

TIMELINE_STEP_S = 0.5
RUN_FIGURES = ("offered_rps", "throughput_rps", "error_rate", "failed_requests")


def _timeline(raw: Replication, t_fail: float) -> Timeline:
    """Replication 0 around the failure, in steps of 0.5 s: throughput, error rate, p99, events."""
    bins = raw.bins
    per = max(1, round(TIMELINE_STEP_S / bins.bin_s))
    n = len(bins.done) // per

    def step(counts):
        return counts[:n * per].reshape(n, per).sum(axis=1)
    done, failed = step(bins.done), step(bins.failed)
    t, latency = raw.incident_t_s, raw.incident_latency_s
    idx = (t / TIMELINE_STEP_S).astype(int)
    p99 = [float(np.quantile(latency[idx == i], 0.99) * 1000) if np.any(idx == i) else None
           for i in range(n)]
    return Timeline(step_s=TIMELINE_STEP_S, throughput_rps=(done / TIMELINE_STEP_S).tolist(),
                    error_rate=np.divide(failed, np.maximum(done + failed, 1)).tolist(),
                    p99_ms=p99, failure_at_s=t_fail,
                    events=[(float(e.t_s), e.source, e.text, e.mark) for e in raw.events])


def _run_figures(scenario: Scenario, raw: Replication) -> dict:
    """The headline of a run with a failure: its whole measured window, failure included."""
    m = summary.summarize(raw, scenario)["metrics"]
    return {k: m[k] for k in RUN_FIGURES} | {"p99_ms": m["latency_ms"]["p99"]}


def measure(scenario: Scenario, raws: list[Replication], failure) -> FailureEntry:
    """The failure's figures over the replications (not yet judged against its claims)."""
    per_rep = [incident.measure(raw, failure, scenario) for raw in raws]
    return FailureEntry(
        name=failure.name, component=failure.component, kind=failure.kind, at_s=failure.at_s,
        repair_after_s=failure.repair_after_s, replications=len(raws), **ci_tree(per_rep),
        run=RunFigures(**ci_tree([_run_figures(scenario, raw) for raw in raws])),
        not_recovered_replications=sum(math.isnan(r["rto_s"]) for r in per_rep),
        timeline=_timeline(raws[0], failure.at_s))


def _more(progress, scenario: Scenario, label: str):
    """The progress of a later batch of replications: 'label, replications 6-10'."""
    return lambda start, n: progress(scenario, f"{label}, replications {start + 1}-{start + n}")


def judge_failure(scenario: Scenario, failure, claim: dict, meanings: dict):
    """A judge for runner.sequential: the failure's entry, and its undecided checks."""
    def judged(raws, _wall_s):
        entry = measure(scenario, raws, failure)
        checks = claims.checks(entry, claim, meanings, scenario)
        return replace(entry, checks=checks), claims.undecided(checks)
    return judged


def _with_condition(entry: FailureEntry, alone: Scenario, failure, claim: dict, meanings: dict,
                    progress) -> FailureEntry:
    """Runs the claim's condition when a figure it names fails or stays uncertain."""
    condition = claim.get("condition")  # optional in the claims file, as its figures are
    figures = condition.get("figures", []) if condition else []
    if not any(c.verdict in ("fails", "uncertain") and c.figure in figures for c in entry.checks):
        return entry
    variant = Scenario.model_validate(merge(resolved(alone), condition["set"]))
    label = f"{failure.name} with {condition['text']}"
    _, _, other, _ = runner.sequential(variant, judge_failure(variant, failure, claim, meanings),
                                       progress(variant, label), _more(progress, variant, label))
    again = {c.figure: c.verdict for c in other.checks}
    checks = []
    for c in entry.checks:
        if c.verdict in ("fails", "uncertain") and c.figure in figures:
            tried = WithCondition(None if c.figure == "impact" else other.figure(c.figure), again[c.figure])
            verdict = f"holds only with {condition['text']}" if tried.verdict == "holds" else c.verdict
            c = replace(c, with_condition=tried, verdict=verdict)
        checks.append(c)
    return replace(entry, checks=checks,
                   condition=Condition(condition["text"], figures, other.replications))


def _entry(scenario: Scenario, failure, book: dict, progress) -> FailureEntry:
    alone = scenario.model_copy(update={"failures": [failure]})
    claim = book["failures"].get(failure.name) or {}  # a failure the claims file does not name
    judged = judge_failure(alone, failure, claim, book["impact_words"])
    _, _, entry, open_ = runner.sequential(alone, judged, progress(alone, failure.name),
                                           _more(progress, alone, failure.name))
    entry = replace(entry, undecided=open_,
                    claimed={k: (v.get("text") if isinstance(v, dict) else v)
                             for k, v in claim.items() if k != "condition"})
    entry = _with_condition(entry, alone, failure, claim, book["impact_words"], progress)
    return replace(entry, verdict=claims.overall(entry.checks))


def run(scenario: Scenario, progress=None) -> Report:
    """The scenario's report, with a `failures` entry per failure. A matrix runs the scenario
    without failures for a healthy baseline (labelled as such), then each failure alone, with
    replications added while a claim's verdict is undecided; otherwise the failures happen
    together in the one run and are each measured from it."""
    progress = progress or (lambda scenario, label: None)
    if not scenario.failures:
        return runner.run(scenario, progress(scenario, scenario.name),
                          _more(progress, scenario, scenario.name))
    book = claims.load(scenario)
    if not scenario.incidents.matrix:
        result, raws = runner.run_with_raws(scenario, progress(scenario, scenario.name),
                                            _more(progress, scenario, scenario.name))
        entries = []
        for failure in scenario.failures:
            entry = measure(scenario, raws, failure)
            checks = claims.checks(entry, book["failures"].get(failure.name),
                                   book["impact_words"], scenario)
            entries.append(replace(entry, checks=checks, verdict=claims.overall(checks)))
        return replace(result, failures=entries)
    healthy = scenario.model_copy(update={"failures": []})
    label = f"{scenario.name} without failures"
    result = runner.run(healthy, progress(healthy, label), _more(progress, healthy, label))
    # headline, objectives and plots: the run without failures
    return replace(result, scenario=scenario, healthy_baseline=True,
                   failures=[_entry(scenario, f, book, progress) for f in scenario.failures])
