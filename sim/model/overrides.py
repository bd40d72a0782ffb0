"""A scenario with some of its fields changed: dotted paths (`topology.app_servers.count`) and
values, as the sweep's --vary and the planner's design space give them."""
from __future__ import annotations

from pydantic import ValidationError

from sim.model.scenario import resolved
from sim.model.schema import Scenario
from sim.model.yamlio import InputError, merge


def number(text: str):
    """An int, a float, or the text itself (a shape's name, an engine)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_values(text: str) -> list:
    """`3:8` (integers 3 to 8), `a:b:step` (a, a + step, ... up to b), or `v1,v2,...`."""
    if ":" in text and "," not in text:
        parts = [number(p) for p in text.split(":")]
        if len(parts) not in (2, 3) or not all(isinstance(p, (int, float)) for p in parts):
            raise ValueError(f"expected a range a:b or a:b:step of numbers, got {text!r}")
        lo, hi, step = parts[0], parts[1], parts[2] if len(parts) == 3 else 1
        if step <= 0 or hi < lo:
            raise ValueError(f"expected a range a:b (a <= b) with a step > 0, got {text!r}")
        count = int((hi - lo) / step + 1e-9) + 1
        return [lo + i * step for i in range(count)]
    values = [number(v) for v in text.split(",") if v.strip()]
    if not values:
        raise ValueError(f"expected values, got {text!r}")
    return values


def parse_vary(text: str) -> tuple[str, list]:
    """PATH=VALUES -> (path, values)."""
    path, sep, values = text.partition("=")
    if not sep or not path:
        raise InputError("command line", None, "--vary", f"expected PATH=VALUES, got {text!r}")
    try:
        return path.strip(), parse_values(values)
    except ValueError as exc:
        raise InputError("command line", None, f"--vary {path}", str(exc)) from None


def check_path(scenario: Scenario, path: str, option: str = "--vary",
               where: str = "command line") -> None:
    """A one-line error unless `path` names a field of the (resolved) scenario."""
    node = resolved(scenario)
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            known = ", ".join(node) if isinstance(node, dict) else "nothing (not a section)"
            raise InputError(where, None, f"{option} {path}",
                             f"no field '{part}' there; expected one of: {known}")
        node = node[part]


def get(scenario: Scenario, path: str):
    node = resolved(scenario)
    for part in path.split("."):
        node = node[part]
    return node


def nested(path: str, value) -> dict:
    out: dict = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return out


def apply(scenario: Scenario, overrides: dict, where: str = "command line") -> Scenario:
    """The scenario with {path: value} set. An app server count outside the autoscaler's
    min_count..max_count widens them (the count is what is being planned)."""
    data = resolved(scenario)
    for path, value in overrides.items():
        data = merge(data, nested(path, value))
    apps = data["topology"]["app_servers"]
    apps["min_count"] = min(apps["min_count"], apps["count"])
    apps["max_count"] = max(apps["max_count"], apps["count"])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        shown = ", ".join(f"{p}={v}" for p, v in overrides.items())
        raise InputError(where, None, ".".join(map(str, err["loc"])),
                         f"{err['msg'].replace('Value error, ', '')} (with {shown})") from None
