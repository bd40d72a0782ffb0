"""Cost per month: node counts by kind joined with a price file by name."""
from __future__ import annotations

from pathlib import Path

from sim.model.schema import Scenario
from sim.model.yamlio import InputError, load_yaml

PRICES_DIR = Path(__file__).resolve().parents[2] / "data" / "prices"
SECONDS_PER_MONTH = 730 * 3600  # the cloud providers' billing month: 730 hours


def price_file(scenario: Scenario) -> Path:
    name = scenario.cost.prices
    return Path(name) if name.endswith(".yaml") else PRICES_DIR / f"{name}.yaml"


def _price(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and 0 <= value < float("inf"))


def load_prices(scenario: Scenario) -> dict:
    file = price_file(scenario)
    if not file.is_file():
        raise InputError(file, None, "cost.prices", "no such price file; expected a name in "
                         f"{PRICES_DIR} ({', '.join(sorted(p.stem for p in PRICES_DIR.glob('*.yaml')))}) "
                         "or a .yaml path")
    data, lines = load_yaml(file)
    for section in ("nodes_usd_per_month", "fixed_usd_per_month"):
        values = data.get(section) or {}
        if not isinstance(values, dict):
            raise InputError(file, lines.get((section,)), section,
                             "expected a mapping of names to prices >= 0 in USD per month")
        for key, value in values.items():
            if not _price(value):
                raise InputError(file, lines.get((section, key)), f"{section}.{key}",
                                 f"expected a finite price >= 0 in USD per month, got {value!r}")
    if not isinstance(data.get("name", ""), str):
        raise InputError(file, lines.get(("name",)), "name", "expected a name")
    return data


def unit_prices(scenario: Scenario, prices: dict | None = None) -> dict[str, float]:
    """USD per month of one node, by kind: the price file with the scenario's overrides."""
    prices = prices or load_prices(scenario)
    return {**(prices.get("nodes_usd_per_month") or {}), **scenario.cost.overrides_usd_per_month}


def monthly_cost(scenario: Scenario, node_counts: dict[str, float]) -> dict:
    """Cost lines and total in USD per month; every node kind present must have a price."""
    prices = load_prices(scenario)
    unit = unit_prices(scenario, prices)
    missing = sorted(set(node_counts) - set(unit))
    if missing:
        raise InputError(price_file(scenario), None, "nodes_usd_per_month",
                         f"no price for node kind(s) {', '.join(missing)}")
    lines = {kind: {"count": count, "unit_usd_per_month": unit[kind], "usd_per_month": count * unit[kind]}
             for kind, count in node_counts.items()}
    fixed = dict(prices.get("fixed_usd_per_month") or {}) if scenario.cost.include_fixed else {}
    total = sum(line["usd_per_month"] for line in lines.values()) + sum(fixed.values())
    return {"price_file": prices.get("name", str(price_file(scenario))), "nodes": lines,
            "fixed_usd_per_month": fixed, "total_usd_per_month": total}


def check_prices(scenario: Scenario):
    """Every node kind the scenario builds has a price, checked before a run rather than after."""
    import simpy

    from sim.model.topology import build
    kinds = build(simpy.Environment(), scenario).price_kinds(1)
    missing = sorted(set(kinds) - set(unit_prices(scenario)))
    if missing:
        raise InputError(price_file(scenario), None, "nodes_usd_per_month",
                         f"no price for node kind(s) {', '.join(missing)}; give one in "
                         "cost.overrides_usd_per_month")
