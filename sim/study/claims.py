"""The design document's failure-matrix claims (data/claims/), judged against a failure's figures.

A claim on a figure holds when the whole 95% interval of the figure meets it; the document's
performance-impact words are judged by the figures and thresholds its claims file gives each.
"""
from __future__ import annotations

import math
from pathlib import Path

from pydantic import ValidationError

from sim.study.failure_entry import Check, FailureEntry, Part
from sim.model.scenario import resolved
from sim.model.schema import Scenario
from sim.study.stats import judge
from sim.model.yamlio import InputError, load_yaml, merge

CLAIMS_DIR = Path(__file__).resolve().parents[2] / "data" / "claims"
TIMES = ("impaired_s", "outage_s", "rto_s")
JUDGED = ("detection_s", "impaired_s", "outage_s", "rto_s", "lost_writes", "lost_writes_span_s",
          "slowdown_x")
FIGURES = JUDGED + ("error_rate_during", "p99_during_ms", "error_rate_beyond_writes_during")


def load(scenario: Scenario) -> dict:
    """{"failures": {name: claim}, "impact_words": {word: meaning}} of the scenario's claims file,
    every figure checked: {op: < or <=, value: a finite number (or objectives.<name> in a
    word's checks), text}; a condition {text, figures, set} whose settings make a valid scenario."""
    name = scenario.incidents.claims
    file = Path(name) if name.endswith(".yaml") else CLAIMS_DIR / f"{name}.yaml"
    if not file.is_file():
        raise InputError(file, None, "incidents.claims", "no such claims file; expected a name in "
                         f"{CLAIMS_DIR} or a .yaml path")
    data, lines = load_yaml(file)

    def fail(path, message):
        where = next((lines[path[:i]] for i in range(len(path), 0, -1) if path[:i] in lines), None)
        raise InputError(file, where, ".".join(map(str, path)), message)
    book = {"failures": data.get("failures") or {}, "impact_words": data.get("impact_words") or {}}
    for section in book:
        if not isinstance(book[section], dict):
            fail((section,), "expected a mapping of names to their claims")
    for failure, claim in book["failures"].items():
        if not isinstance(claim, dict):
            fail(("failures", failure), "expected a mapping of figures to claims")
        for key in JUDGED:
            if isinstance(claim.get(key), dict) and "value" in claim[key]:
                _check(claim[key], ("failures", failure, key), fail, scenario)
        _check_condition(claim.get("condition"), ("failures", failure, "condition"), fail, scenario)
    for word, meaning in book["impact_words"].items():
        if not isinstance(meaning, dict) or not (isinstance(meaning.get("not_judged"), str) or (
                isinstance(meaning.get("reason"), str) and isinstance(meaning.get("checks"), list))):
            fail(("impact_words", word), "expected {reason, checks: [...]} or {not_judged: reason}")
        for i, check in enumerate(meaning.get("checks") or []):
            if not isinstance(check, dict) or check.get("figure") not in FIGURES:
                fail(("impact_words", word, "checks", i), f"expected a figure of: {', '.join(FIGURES)}")
            _check(check, ("impact_words", word, "checks", i), fail, scenario)
    return book


def _check(claim: dict, path: tuple, fail, scenario: Scenario):
    if claim.get("op") not in ("<", "<="):
        fail(path + ("op",), "expected '<' or '<='")
    value = claim["value"]
    try:
        ok = not isinstance(value, bool) and math.isfinite(_threshold(value, scenario))
    except (TypeError, ValueError, AttributeError):
        ok = False
    if not ok:
        fail(path + ("value",), "expected a finite number or objectives.<name>")
    if not isinstance(claim.get("text", ""), str):
        fail(path + ("text",), "expected text")


def _check_condition(condition, path: tuple, fail, scenario: Scenario):
    if condition is None:
        return
    if not (isinstance(condition, dict) and isinstance(condition.get("text"), str)
            and isinstance(condition.get("figures", []), list) and isinstance(condition.get("set"), dict)):
        fail(path, "expected {text, figures: [...], set: {...}}")
    try:
        Scenario.model_validate(merge(resolved(scenario), condition["set"]))
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(path + ("set",), "these settings make an invalid scenario: "
             f"{'.'.join(map(str, err['loc']))}: {err['msg']}")


def _threshold(value, scenario: Scenario) -> float:
    """A number, or `objectives.<name>`: the scenario's own objective."""
    if isinstance(value, str) and value.startswith("objectives."):
        return float(getattr(scenario.objectives, value.split(".", 1)[1]))
    return float(value)


def _combined(verdicts: list[str]) -> str:
    for word in ("fails", "no data", "uncertain"):
        if word in verdicts:
            return word
    return "holds"


def _impact(entry: FailureEntry, word: str, meanings: dict, scenario: Scenario) -> Check:
    meaning = meanings.get(word)  # a word the claims file may leave undefined
    if meaning is None:
        return Check("impact", word, "not judged", means="the claims file does not define this word")
    if "not_judged" in meaning:
        return Check("impact", word, "not judged", means=meaning["not_judged"])
    parts = [Part(c["figure"], c["op"], _threshold(c["value"], scenario),
                  judge(entry.figure(c["figure"]), c["op"], _threshold(c["value"], scenario)))
             for c in meaning["checks"]]
    return Check("impact", word, _combined([p.verdict for p in parts]), means=meaning["reason"],
                 parts=parts)


def checks(entry: FailureEntry, claim: dict | None, meanings: dict, scenario: Scenario) -> list[Check]:
    """Each claimed figure of a failure, and its impact word, against the entry's figures."""
    claim = claim or {}
    out = []
    for key in JUDGED:
        c = claim.get(key)
        if not isinstance(c, dict) or "value" not in c:
            continue
        if key == "rto_s" and entry.not_recovered_replications:
            verdict = "fails"  # not back within objectives before the run ended
        else:
            verdict = judge(entry.figure(key), c["op"], c["value"])
        failed = entry.failed_requests["mean"] or 0
        # a short incident still fails requests: said beside the verdict, never hidden by it
        holds_with_failures = key in TIMES and verdict == "holds" and failed
        note = f"{failed:,.0f} requests failed in it" if holds_with_failures else ""
        out.append(Check(key, c.get("text", ""), verdict, op=c["op"], value=c["value"], note=note))
    if claim.get("impact"):
        out.append(_impact(entry, claim["impact"], meanings, scenario))
    return out


def overall(checks_: list[Check]) -> str:
    verdicts = [c.verdict for c in checks_ if c.verdict != "not judged"]
    if not verdicts:
        return "not claimed"
    for word in ("fails", "uncertain", "no data"):
        if word in verdicts:
            return word
    conditional = sorted({v for v in verdicts if v.startswith("holds only")})
    return "; ".join(conditional) if conditional else "holds"


def undecided(checks_: list[Check]) -> list[str]:
    return [c.figure for c in checks_ if c.verdict == "uncertain"]
