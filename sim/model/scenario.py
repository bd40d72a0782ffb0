"""Loading a scenario file: base files merged, fields validated, errors pointed at their line."""
from __future__ import annotations

import json
import os
import typing
from pathlib import Path

from pydantic import BaseModel, ValidationError

from sim.model.errors import printable
from sim.model.schema import Dist, Scenario
from sim.model.schema_failures import NAME, FieldError
from sim.engines.streams import empirical_samples
from sim.model.yamlio import InputError, dotted, load_yaml, merge

MAX_BASES = 16  # files in a chain of `base:` (the shipped ones use 1)


def _load_chain(file: Path) -> tuple[dict, dict]:
    """The file's data merged over its `base` chain, and where each field was written."""
    chain: list[tuple[dict, dict]] = []
    seen: list[Path] = []
    where = (None, None)
    while True:
        data, lines = load_yaml(file, where=where[0], line=where[1], field="base" if where[0] else "",
                                what="scenario file")
        key = os.path.realpath(file)
        if key in seen:
            raise InputError(where[0], where[1], "base", "scenarios extend each other in a cycle")
        seen.append(key)
        origin = {path: (file, line) for path, line in lines.items()}
        if chain:
            data.pop("name", None)  # a name belongs to its own file
        chain.append((data, origin))
        base = data.get("base")
        if base is None:
            break
        line = lines.get(("base",))
        if not isinstance(base, str) or not base:
            raise InputError(file, line, "base", "expected a file name")
        if len(chain) >= MAX_BASES:
            raise InputError(file, line, "base", f"more than {MAX_BASES} files in a chain of base files")
        where, file = (file, line), file.parent / base
    data, origin = {}, {}
    for layer, layer_origin in reversed(chain):
        data = merge(data, layer)
        origin.update(layer_origin)
    return data, origin


def _model_at(loc: tuple):
    """The model class whose fields live at `loc`, to list what a misspelt key could have been."""
    model = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        while typing.get_origin(ann) in (typing.Union, list, dict) or type(ann).__name__ == "UnionType":
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            ann = args[-1]
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model = ann
    return model


def _message(err: dict) -> str:
    loc, kind = err["loc"], err["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = f"; expected one of: {', '.join(model.model_fields)}" if model else ""
        return f"unknown field '{printable(loc[-1], 60)}'{known}"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch":
        what = ("a name: letters, digits, '_', '.' or '-', at most 100, not a path"
                if err["ctx"]["pattern"] == NAME else
                "a name of the shipped data (letters, digits, '_', '.', '-') or a path to a .yaml file")
        return f"expected {what}, got {printable(repr(err['input']), 60)}"
    msg = err["msg"].replace("Value error, ", "").replace("Input should be", "expected")
    if kind != "value_error" and "input" in err and not isinstance(err["input"], dict):
        value = err["input"]
        shown = f"a list of {len(value)}" if isinstance(value, list) and len(value) > 5 else repr(value)
        msg += f", got {printable(shown, 60)}"
    return msg


def _locate(loc: tuple, origin: dict, file: Path):
    for depth in range(len(loc), -1, -1):
        if tuple(loc[:depth]) in origin:
            return origin[tuple(loc[:depth])]
    return file, None


PATH_FIELDS = ("file",)                 # always a file name
NAME_OR_PATH_FIELDS = ("prices", "claims")  # a name of the shipped data, or a .yaml file


def _resolve_paths(data: dict, origin: dict, file: Path) -> None:
    """File names in a scenario are relative to the file that wrote them."""
    def walk(node, path):
        if isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, path + (i,))
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            is_path = isinstance(value, str) and value and "\0" not in value and (
                key in PATH_FIELDS or (key in NAME_OR_PATH_FIELDS and value.endswith(".yaml")))
            if is_path and not os.path.isabs(value):
                src = _locate(path + (key,), origin, file)[0]
                node[key] = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(src)), value))
            else:
                walk(value, path + (key,))
    walk(data, ())


def _error(exc: ValidationError, origin: dict, file: Path) -> InputError:
    """The first of pydantic's errors as one line at its field's line."""
    errors = exc.errors()
    err = errors[0]
    loc: tuple = ()
    for part in err["loc"]:  # pydantic's own steps (function-after[...]) are no fields
        if not (isinstance(part, str) and "[" in part and loc + (part,) not in origin):
            loc += (part,)
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):  # a model's check that names one of its fields
        loc += cause.loc
    src, line = _locate(loc, origin, file)
    more = len(errors) - 1
    suffix = f" (and {more} more error{'s' * (more > 1)})" if more else ""
    return InputError(src, line, dotted(loc), _message(err) + suffix)


def load(file) -> Scenario:
    """A validated scenario, or InputError naming file, line, field path and what was expected."""
    file = Path(file)
    data, origin = _load_chain(file)
    _resolve_paths(data, origin, file)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _error(exc, origin, file) from None
    for loc, dist in _distributions(scenario, ()):
        if dist.dist == "empirical":
            src, line = _locate(loc + ("file",), origin, file)
            empirical_samples(dist.file, dist.key, where=(src, line, dotted(loc + ("file",))))
    return scenario


def _distributions(model, loc):
    """(field path, Dist) for every distribution in the scenario."""
    if isinstance(model, Dist):
        yield loc, model
    elif isinstance(model, BaseModel):
        for name in type(model).model_fields:
            yield from _distributions(getattr(model, name), loc + (name,))
    elif isinstance(model, dict):
        for key, value in model.items():
            yield from _distributions(value, loc + (key,))


def resolved(scenario: Scenario) -> dict:
    """The scenario with every default filled in, as plain JSON data."""
    return json.loads(scenario.model_dump_json())


def _conditions(defs: dict) -> None:
    """The checks between fields that JSON Schema can say: what each distribution and each kind
    of arrivals needs (the model's validators say it again, with the line)."""
    defs["Dist"]["allOf"] = [
        {"if": {"properties": {"dist": {"const": "empirical"}}},
         "then": {"required": ["file"]}, "else": {"required": ["mean_ms"]}},
        {"if": {"properties": {"dist": {"enum": ["lognormal", "gamma"]}}},
         "then": {"required": ["cv"]}}]
    kind = lambda k: {"properties": {"kind": {"const": k}}, "required": ["kind"]}  # noqa: E731
    defs["Arrivals"]["allOf"] = [
        {"if": {"anyOf": [{"not": {"required": ["kind"]}}, kind("constant")]},
         "then": {"required": ["rate_rps"]}},
        {"if": kind("piecewise"), "then": {"required": ["points"]}},
        {"if": kind("diurnal"), "then": {"required": ["daily_users", "hourly_profile"], "properties": {
            "hourly_profile": {"type": "array", "minItems": 24, "maxItems": 24}}}}]


def _override(node, in_items=False):
    """A definition as an override file may write it (a file with `base:`): nothing required,
    since the base file gives the rest; items of a list stay whole (a list replaces the base's)."""
    if isinstance(node, list):
        return [_override(v, in_items) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("required", "allOf") and not in_items:
            continue
        if key == "$ref" and not in_items:
            out[key] = value + "Override"
        else:
            out[key] = _override(value, in_items or key in ("items", "prefixItems"))
    return out


def json_schema() -> dict:
    """The scenario format as users write it: a file without `base:` is a whole scenario; a
    file with `base:` overrides its base field by field, so it needs only its name."""
    model = Scenario.model_json_schema()
    defs = model.pop("$defs")
    defs["Scenario"] = model
    _conditions(defs)
    defs.update({f"{name}Override": _override(d) for name, d in list(defs.items())})
    defs["ScenarioOverride"]["required"] = ["name"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "sessionsim scenario",
        "description": "A scenario file. With `base:` it overrides another scenario file field by "
                       "field (only `name` is required); without, it is whole (`name`, "
                       "`architecture` and `workload.arrivals` required).",
        "type": "object",
        "$ref": "#/$defs/ScenarioOverride",
        "if": {"not": {"required": ["base"]}},
        "then": {"$ref": "#/$defs/Scenario"},
        "$defs": dict(sorted(defs.items())),
    }
