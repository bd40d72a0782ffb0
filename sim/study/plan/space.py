"""The design space: candidates (field -> value), the hardware catalogue, cost per month."""
from __future__ import annotations

import itertools
from pathlib import Path

from sim.model import overrides
from sim.model.cost import PRICES_DIR, monthly_cost
from sim.model.schema import Scenario
from sim.model.schema_plan import MONOTONE, SHAPE
from sim.model.yamlio import InputError, load_yaml

HARDWARE_DIR = Path(__file__).resolve().parents[3] / "data" / "hardware"


def catalogue(name: str) -> dict:
    """{shape name: {"cores", "memory_gb", "usd_per_month"}}: the hardware file joined by name
    with its price file."""
    file = Path(name) if name.endswith(".yaml") else HARDWARE_DIR / f"{name}.yaml"
    if not file.is_file():
        raise InputError(file, None, "plan.hardware", f"no such hardware catalogue; expected a "
                         f"name in {HARDWARE_DIR} or a .yaml path")
    data, lines = load_yaml(file)
    prices_name = str(data.get("prices", ""))
    pfile = Path(prices_name) if prices_name.endswith(".yaml") else PRICES_DIR / f"{prices_name}.yaml"
    if not pfile.is_absolute() and prices_name.endswith(".yaml"):
        pfile = file.parent / prices_name
    if not pfile.is_file():
        raise InputError(file, lines.get(("prices",)), "prices", f"no such price file: {pfile}")
    prices, _ = load_yaml(pfile)
    unit = {**(prices.get("nodes_usd_per_month") or {}), **(prices.get("shapes_usd_per_month") or {})}
    shapes = {}
    for shape, spec in (data.get("shapes") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("cores"), int) or spec["cores"] < 1:
            raise InputError(file, lines.get(("shapes", shape)), f"shapes.{shape}.cores",
                             "expected a whole number of cores >= 1")
        if shape not in unit:
            raise InputError(pfile, None, "shapes_usd_per_month", f"no price for shape {shape!r}")
        shapes[shape] = {"cores": spec["cores"], "memory_gb": spec.get("memory_gb"),
                         "usd_per_month": float(unit[shape])}
    return shapes


def candidates(scenario: Scenario, where: str = "scenario") -> list[dict]:
    """Every combination of the space's values, as {field: value}; `where`: the scenario's file,
    named by errors."""
    space = scenario.plan.space
    shapes = catalogue(scenario.plan.hardware) if SHAPE in space else {}
    for shape in space.get(SHAPE, []):
        if shape not in shapes:
            raise InputError(where, None, f"plan.space.{SHAPE}", f"no shape {shape!r} in the catalogue "
                             f"{scenario.plan.hardware}; expected one of: {', '.join(shapes)}")
    names = {f.name for f in scenario.failures}
    unknown = sorted(set(scenario.plan.failures or []) - names)
    if unknown:
        raise InputError(where, None, "plan.failures", f"no failure(s) {unknown} in the scenario; "
                         f"expected names from: {', '.join(sorted(names)) or 'none (no failures)'}")
    for path in space:
        if path != SHAPE:
            overrides.check_path(scenario, path, "plan.space", where)
    return [dict(zip(space, combo)) for combo in itertools.product(*space.values())]


def scenario_of(scenario: Scenario, candidate: dict, shapes: dict) -> Scenario:
    """The scenario with the candidate's fields set: a shape sets the app servers' cores and
    price (and their workers by gunicorn's 2 x cores + 1 when the scenario uses that rule), and
    the fleet is fixed (no autoscaler: the plan is the fleet)."""
    fields = {k: v for k, v in candidate.items() if k != SHAPE}
    if SHAPE in candidate:
        shape = shapes[candidate[SHAPE]]
        apps = scenario.topology.app_servers
        fields["topology.app_servers.cores"] = shape["cores"]
        if apps.workers == 2 * apps.cores + 1 and "topology.app_servers.workers" not in candidate:
            fields["topology.app_servers.workers"] = 2 * shape["cores"] + 1
        fields["cost.overrides_usd_per_month.app_server"] = shape["usd_per_month"]
    fields["mechanisms.autoscaler.enabled"] = False
    return overrides.apply(scenario, fields, "plan.space")


def cost_usd_per_month(scenario: Scenario) -> float:
    """The fleet's price per month (the scenario's price file, fixed costs included)."""
    t = scenario.topology
    kinds = {"load_balancer": t.load_balancers.count, "app_server": t.app_servers.count}
    if t.redis:
        kinds |= {"redis_master": 1, "redis_replica": t.redis.replicas,
                  "redis_sentinel": t.redis.sentinels}
    if t.postgres:
        kinds |= {"pg_primary": 1, "pg_replica": t.postgres.replicas}
    if t.db_fleet:
        kinds["db_server"] = t.db_fleet.servers
    return monthly_cost(scenario, {k: v for k, v in kinds.items() if v})["total_usd_per_month"]


def _rank(value, path: str, shapes: dict):
    return shapes[value]["cores"] if path == SHAPE else value


def order(candidate: dict, shapes: dict) -> list:
    """A sort key among candidates of equal cost: larger in the monotone fields first."""
    return [(-_rank(v, p, shapes), "") if p in MONOTONE else (0, str(v)) for p, v in candidate.items()]


def dominated(small: dict, big: dict, shapes: dict) -> bool:
    """small is no larger than big in every monotone field and equal in the others."""
    for path, value in small.items():
        if path in MONOTONE:
            if _rank(value, path, shapes) > _rank(big[path], path, shapes):
                return False
        elif value != big[path]:
            return False
    return True
