"""The capacity knee: the highest value of one field (an arrival rate, say) at which the scenario
still meets its objectives, found by bisection on the verdicts' confidence intervals.

Bisection, to the tolerance, on where the objectives' means cross their targets (the point
estimate of the knee), over probes that keep adding replications while a verdict is uncertain
(simulation.until_decided) and share their seeds (common random numbers: at a higher rate the
same arrivals come closer together, so the estimates move monotonically with the value). The
interval, from the same probes: ci95[0] the highest value at which every objective is met (its
whole 95% interval), ci95[1] the lowest at which one is missed (its whole interval) or the run is
not steady. Between the two the verdict is uncertain: the knee lies there.
"""
from __future__ import annotations

from sim.model import overrides
from sim.study.report import Report
from sim.model.schema import Scenario
from sim.study.sweep import feasible, headline, run_points

MAX_STEPS = 40   # bisection steps, whatever the tolerance
MAX_WIDENINGS = 8  # doublings (or halvings) of the starting value to bracket the knee


def _means_meet(report: Report) -> bool:
    """Every objective's mean on the right side of its target, in a steady run."""
    if not report.stability.steady:
        return False
    for obj in report.objectives.values():
        if obj.verdict in ("met", "missed"):
            if obj.verdict == "missed":
                return False
            continue
        mean, target = obj.value["mean"], obj.target
        if mean is None or (obj.operator == "<=" and mean > target):
            return False
    return True


class _Probes:
    def __init__(self, scenario: Scenario, path: str, executor, integer: bool):
        data = scenario.simulation.model_dump() | {"until_decided": True}
        self.scenario = scenario.model_copy(update={"simulation": type(scenario.simulation)(**data)})
        self.path, self.executor, self.integer = path, executor, integer
        self.seen: dict = {}

    def __call__(self, value) -> Report:
        if value not in self.seen:
            scenario = overrides.apply(self.scenario, {self.path: value})
            self.seen[value] = run_points(self.executor, [scenario])[0]
        return self.seen[value]

    def mid(self, lo, hi):
        return (lo + hi) // 2 if self.integer else (lo + hi) / 2

    def close(self, lo, hi, tolerance: float) -> bool:
        return hi - lo <= (1 if self.integer else tolerance * max(abs(lo), abs(hi)))


def _bisect(probe: _Probes, ok, lo, hi, tolerance: float):
    """(last value with ok, first value without) between lo (ok) and hi (not ok)."""
    for _ in range(MAX_STEPS):
        if probe.close(lo, hi, tolerance):
            break
        mid = probe.mid(lo, hi)
        if ok(probe(mid)):
            lo = mid
        else:
            hi = mid
    return lo, hi


def _bracket(probe: _Probes, ok, start, bounds):
    """(lo, hi): lo meets, hi does not; from a --vary range, or by doubling or halving."""
    if bounds:
        lo, hi = bounds
        return (lo if ok(probe(lo)) else None), (hi if not ok(probe(hi)) else None)
    if ok(probe(start)):
        lo, hi = start, start * 2
        for _ in range(MAX_WIDENINGS):
            if not ok(probe(hi)):
                return lo, hi
            lo, hi = hi, hi * 2
        return lo, None
    hi, lo = start, probe.mid(0, start)
    for _ in range(MAX_WIDENINGS):
        if lo > 0 and ok(probe(lo)):
            return lo, hi
        hi, lo = lo, probe.mid(0, lo)
    return None, hi


def find_max(scenario: Scenario, path: str, executor, bounds: tuple | None = None,
             tolerance: float = 0.01) -> dict:
    """{path, value, ci95, tolerance, probes: [{value, meets_objectives, ...headline}], found}."""
    overrides.check_path(scenario, path, "--find-max")
    start = overrides.get(scenario, path)
    if not isinstance(start, (int, float)) or isinstance(start, bool) or start <= 0:
        raise overrides.InputError("command line", None, f"--find-max {path}",
                                   f"expected a field holding a positive number, got {start!r}")
    integer = isinstance(start, int) and (bounds is None or all(isinstance(b, int) for b in bounds))
    probe = _Probes(scenario, path, executor, integer)
    lo, hi = _bracket(probe, _means_meet, start, bounds)
    out = {"path": path, "tolerance": tolerance, "found": lo is not None and hi is not None}
    if out["found"]:
        value, above = _bisect(probe, _means_meet, lo, hi, tolerance)
        met = [v for v, r in probe.seen.items() if feasible(r) == "met" and v <= value]
        missed = [v for v, r in probe.seen.items() if feasible(r) == "missed" and v >= above]
        out |= {"value": value, "ci95": [max(met, default=None), min(missed, default=None)]}
    else:
        out |= {"value": None, "ci95": [None, None],
                "reason": "the objectives are missed at every value tried" if lo is None
                else "the objectives are still met at the highest value tried"}
    out["probes"] = [{"value": v, "meets_objectives": feasible(r), "means_meet": _means_meet(r),
                      **headline(r)} for v, r in sorted(probe.seen.items())]
    return out
