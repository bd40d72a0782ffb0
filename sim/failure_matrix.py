"""Failures in a scenario: each measured (one at a time when the scenario is a matrix), judged
against the design document's claims, and, where a claim fails, tried under its stated condition."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from sim import incident, runner
from sim.scenario import resolved
from sim.schema import Scenario
from sim.stats import ci_tree, judge
from sim.yamlio import InputError, load_yaml, merge

CLAIMS_DIR = Path(__file__).resolve().parent.parent / "data" / "claims"
JUDGED = ("detection_s", "downtime_s", "rto_s", "lost_writes", "lost_writes_span_s", "slowdown_x")
TIMELINE_STEP_S = 0.5


def load_claims(scenario: Scenario) -> dict:
    """The claims file's failures, each figure checked: {op: < or <=, value: a finite number,
    text}; a condition {text, figures, set} whose settings make a valid scenario."""
    name = scenario.incidents.claims
    file = Path(name) if name.endswith(".yaml") else CLAIMS_DIR / f"{name}.yaml"
    if not file.is_file():
        raise InputError(file, None, "incidents.claims", "no such claims file; expected a name in "
                         f"{CLAIMS_DIR} or a .yaml path")
    data, lines = load_yaml(file)
    failures = data.get("failures") or {}

    def fail(path, message):
        where = next((lines[path[:i]] for i in range(len(path), 0, -1) if path[:i] in lines), None)
        raise InputError(file, where, ".".join(map(str, path)), message)
    if not isinstance(failures, dict):
        fail(("failures",), "expected a mapping of failure names to their claims")
    for failure, claim in failures.items():
        if not isinstance(claim, dict):
            fail(("failures", failure), "expected a mapping of figures to claims")
        for key in JUDGED:
            c = claim.get(key)
            if not isinstance(c, dict) or "value" not in c:
                continue
            value = c["value"]
            if c.get("op") not in ("<", "<="):
                fail(("failures", failure, key, "op"), "expected '<' or '<='")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                fail(("failures", failure, key, "value"), "expected a finite number")
            if not isinstance(c.get("text", ""), str):
                fail(("failures", failure, key, "text"), "expected text")
        condition = claim.get("condition")
        if condition is None:
            continue
        if not (isinstance(condition, dict) and isinstance(condition.get("text"), str)
                and isinstance(condition.get("figures", []), list) and isinstance(condition.get("set"), dict)):
            fail(("failures", failure, "condition"), "expected {text, figures: [...], set: {...}}")
        try:
            Scenario.model_validate(merge(resolved(scenario), condition["set"]))
        except ValidationError as exc:
            err = exc.errors()[0]
            fail(("failures", failure, "condition", "set"), "these settings make an invalid scenario: "
                 f"{'.'.join(map(str, err['loc']))}: {err['msg']}")
    return failures


def _timeline(raw: dict, t_fail: float) -> dict:
    """Replication 0 around the failure, in steps of 0.5 s: throughput, error rate, p99, events."""
    bins = raw["bins"]
    per = max(1, round(TIMELINE_STEP_S / bins["bin_s"]))
    n = len(bins["done"]) // per

    def step(key):
        return bins[key][:n * per].reshape(n, per).sum(axis=1)
    done, failed = step("done"), step("failed")
    t, latency = (np.asarray(a) for a in raw["incident"])
    idx = (t / TIMELINE_STEP_S).astype(int)
    p99 = [float(np.quantile(latency[idx == i], 0.99) * 1000) if np.any(idx == i) else None
           for i in range(n)]
    return {"step_s": TIMELINE_STEP_S, "throughput_rps": (done / TIMELINE_STEP_S).tolist(),
            "error_rate": np.divide(failed, np.maximum(done + failed, 1)).tolist(),
            "p99_ms": p99, "failure_at_s": t_fail,
            "events": [[float(e[0]), e[1], e[2], e[3]] for e in raw["events"]]}


def measure(scenario: Scenario, raws: list[dict], failure) -> dict:
    per_rep = [incident.measure(raw, failure, scenario) for raw in raws]
    entry = {"name": failure.name, "component": failure.component, "kind": failure.kind,
             "at_s": failure.at_s, "repair_after_s": failure.repair_after_s}
    entry.update(ci_tree(per_rep))
    entry["not_recovered_replications"] = sum(math.isnan(r["rto_s"]) for r in per_rep)
    entry["timeline"] = _timeline(raws[0], failure.at_s)
    return entry


def _checks(entry: dict, claim: dict | None) -> list[dict]:
    """Each judged figure of an entry against its claim."""
    checks = []
    for key in JUDGED:
        c = (claim or {}).get(key)
        if not isinstance(c, dict) or "value" not in c:
            continue
        if key == "rto_s" and entry["not_recovered_replications"]:
            verdict = "fails"  # not back within objectives before the run ended
        else:
            verdict = judge(entry[key], c["op"], c["value"])
        checks.append({"figure": key, "claimed": c.get("text", ""), "op": c["op"], "value": c["value"],
                       "verdict": verdict})
    return checks


def _overall(checks: list[dict]) -> str:
    verdicts = [c["verdict"] for c in checks]
    if not verdicts:
        return "not claimed"
    for word in ("fails", "uncertain", "no data"):
        if word in verdicts:
            return word
    conditional = sorted({v for v in verdicts if v.startswith("holds only")})
    return "; ".join(conditional) if conditional else "holds"


def _entry(scenario: Scenario, failure, claims: dict, progress) -> dict:
    alone = scenario.model_copy(update={"failures": [failure]})
    entry = measure(alone, runner.simulate(alone, progress(alone, failure.name))[0], failure)
    claim = claims.get(failure.name) or {}
    entry["claimed"] = {k: (v.get("text") if isinstance(v, dict) else v)
                        for k, v in claim.items() if k != "condition"}
    entry["checks"] = _checks(entry, claim)
    condition = claim.get("condition")
    failing = [c for c in entry["checks"]
               if condition and c["verdict"] == "fails" and c["figure"] in condition.get("figures", [])]
    if failing:
        variant = Scenario.model_validate(merge(resolved(alone), condition["set"]))
        label = f"{failure.name} with {condition['text']}"
        other = measure(variant, runner.simulate(variant, progress(variant, label))[0], failure)
        again = {c["figure"]: c for c in _checks(other, claim)}
        for check in failing:
            check["with_condition"] = {"figure": other[check["figure"]],
                                       "verdict": again[check["figure"]]["verdict"]}
            if again[check["figure"]]["verdict"] == "holds":
                check["verdict"] = f"holds only with {condition['text']}"
        entry["condition"] = {"text": condition["text"], "figures": condition.get("figures", [])}
    entry["verdict"] = _overall(entry["checks"])
    return entry


def run(scenario: Scenario, progress=None) -> dict:
    """The scenario's report, with a `failures` entry per failure. A matrix runs the scenario
    without failures for its headline figures, then each failure alone; otherwise the failures
    happen together in the one run and are each measured from it."""
    progress = progress or (lambda scenario, label: None)
    if not scenario.failures:
        return runner.run(scenario, progress(scenario, scenario.name))
    claims = load_claims(scenario)
    if not scenario.incidents.matrix:
        raws, wall_s = runner.simulate(scenario, progress(scenario, scenario.name))
        result = runner.report(scenario, raws, wall_s)
        result["failures"] = []
        for failure in scenario.failures:
            entry = measure(scenario, raws, failure)
            entry["checks"] = _checks(entry, claims.get(failure.name))
            entry["verdict"] = _overall(entry["checks"])
            result["failures"].append(entry)
        return result
    healthy = scenario.model_copy(update={"failures": []})
    result = runner.run(healthy, progress(healthy, f"{scenario.name} without failures"))
    result["scenario"] = resolved(scenario)
    result["failures"] = [_entry(scenario, f, claims, progress) for f in scenario.failures]
    return result
