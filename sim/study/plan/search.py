"""The search: candidates in cost order; an analytic screen; pruning of fleets smaller in every
monotone field than one that missed; simulation with common random numbers (every candidate
runs the scenario's seed, replications 0, 1, ...) and sequential replications; the cheapest
fleet whose every check holds, confirmed by a fresh run with new seeds."""
from __future__ import annotations

import time

from sim.model import overrides
from sim.study.executor import Executor
from sim.study.find_max import find_max
from sim.study.plan import judge, space
from sim.study.plan.screen import rate_rps, screen
from sim.model.schema import Scenario

RATE = "workload.arrivals.rate_rps"


class Counting(Executor):
    """An executor's replications and simulated requests, counted (the plan's budget)."""

    def __init__(self, inner: Executor):
        self.inner, self.slots = inner, inner.slots
        self.replications_run = self.requests = 0

    def run_tasks(self, tasks):
        out = self.inner.run_tasks(tasks)
        for raws in out:
            self.replications_run += len(raws)
            self.requests += sum(r.totals.arrived for r in raws)
        return out


def _entry(candidate: dict, cost: float) -> dict:
    return {"overrides": candidate, "cost_usd_per_month": cost}


def plan_at(scenario: Scenario, executor: Counting, budget: dict) -> dict:
    """The cheapest feasible candidate at the scenario's load, the next `alternatives`, and every
    candidate tried before with its excuse."""
    shapes = space.catalogue(scenario.plan.hardware) if space.SHAPE in scenario.plan.space else {}
    ranked = []
    for cand in space.candidates(scenario):
        sc = space.scenario_of(scenario, cand, shapes)
        ranked.append((space.cost_usd_per_month(sc), cand, sc))
    # at equal cost the larger fleet first: a miss there prunes the smaller ones
    ranked.sort(key=lambda r: (r[0], space.order(r[1], shapes)))
    found, rejected, missed, order = [], [], [], []
    for cost, cand, sc in ranked:
        if len(found) > scenario.plan.alternatives:
            break
        bigger = next((m for m in missed if space.dominated(cand, m, shapes)), None)
        if bigger is not None:
            rejected.append(_entry(cand, cost) | {"excuse": f"pruned: no larger than {bigger} in "
                                                  "every field, which missed"})
            continue
        figures, why = screen(sc)
        budget["candidates_screened"] += 1
        if why:
            rejected.append(_entry(cand, cost) | {"excuse": why, "analytic": figures})
            missed.append(cand)
            continue
        budget["candidates_simulated"] += 1
        verdict = judge.evaluate(executor, sc, order)
        if verdict["missed_objectives"]:
            missed.append(cand)
        entry = _entry(cand, cost) | {"checks": verdict["checks"], "analytic": figures}
        if verdict["excuse"]:
            rejected.append(entry | {"excuse": verdict["excuse"]})
        else:
            found.append(entry | {"scenario": sc})
    chosen = found[0] if found else None
    return {"rate_rps": rate_rps(scenario), "chosen": chosen, "alternatives": found[1:],
            "rejected": rejected, "candidates": len(ranked)}


def confirm(chosen: dict, executor: Counting) -> dict:
    """The chosen fleet run again with new seeds: its checks beside the search's."""
    sc = chosen.pop("scenario")
    fresh = overrides.apply(sc, {"simulation.seed": sc.plan.confirm_seed})
    verdict = judge.evaluate(executor, fresh)
    return {"seed": sc.plan.confirm_seed, "checks": verdict["checks"],
            "holds": verdict["excuse"] is None, "excuse": verdict["excuse"]}


def runway(scenario: Scenario, growth: list[float], executor) -> dict:
    """The growth at which today's fleet (the scenario as written, autoscaler off) stops meeting
    its objectives: the capacity knee of the arrival rate (sim.study.find_max), over today's rate."""
    today = space.scenario_of(scenario, {}, {}).model_copy(update={"failures": []})
    rate = rate_rps(today)
    top = rate * max(max(growth), 1.0) * 1.5
    fm = find_max(today, RATE, executor, bounds=(rate * 0.5, top), tolerance=0.05)
    scale = (lambda v: None if v is None else v / rate)
    return {"today_rate_rps": rate, "growth": scale(fm["value"]),
            "ci95": [scale(v) for v in fm["ci95"]], "found": fm["found"],
            "searched_up_to": top / rate, **({"reason": fm["reason"]} if not fm["found"] else {})}


def plan(scenario: Scenario, executor: Executor, growth: list[float] | None = None) -> dict:
    """The plan.json document: per growth factor the chosen fleet, its alternatives and the
    rejected cheaper fleets; the budget; the runway when growth is given."""
    if scenario.workload.arrivals.kind != "constant":
        raise overrides.InputError("plan", None, "workload.arrivals.kind",
                                   "the planner needs a constant arrival rate (the planned load)")
    started = time.time()
    counting = Counting(executor)
    budget = {"candidates_screened": 0, "candidates_simulated": 0}
    plans = []
    for g in growth or [1.0]:
        at = overrides.apply(scenario, {RATE: scenario.workload.arrivals.rate_rps * g})
        result = plan_at(at, counting, budget) | {"growth": g}
        if result["chosen"]:
            result["chosen"]["confirmation"] = confirm(result["chosen"], counting)
        for alt in result["alternatives"]:
            alt.pop("scenario")
        plans.append(result)
    out = {"scenario": scenario.name, "seed": scenario.simulation.seed, "plans": plans,
           "chosen": plans[0]["chosen"], "alternatives": plans[0]["alternatives"],
           "rejected": plans[0]["rejected"]}
    if growth:
        out["runway"] = runway(scenario, growth, counting)
    out["budget"] = budget | {"replications": counting.replications_run,
                              "simulated_requests": counting.requests,
                              "wall_s": time.time() - started}
    return out
