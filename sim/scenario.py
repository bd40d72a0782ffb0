"""Loading a scenario file: base files merged, fields validated, errors pointed at their line."""
from __future__ import annotations

import json
import os
import typing
from pathlib import Path

from pydantic import BaseModel, ValidationError

from sim.schema import Dist, Scenario
from sim.streams import empirical_samples
from sim.yamlio import InputError, load_yaml, merge


def _load_chain(file: Path, seen: tuple = ()) -> tuple[dict, dict]:
    """The file's data merged over its `base` chain, and where each field was written."""
    if file.resolve() in seen:
        raise InputError(file, None, "base", "scenarios extend each other in a cycle")
    data, lines = load_yaml(file)
    origin = {path: (file, line) for path, line in lines.items()}
    base = data.get("base")
    if base is None:
        return data, origin
    if not isinstance(base, str):
        raise InputError(file, lines.get(("base",)), "base", "expected a file name")
    base_file = file.parent / base
    if not base_file.is_file():
        raise InputError(file, lines.get(("base",)), "base", f"no such scenario file: {base_file}")
    base_data, base_origin = _load_chain(base_file, seen + (file.resolve(),))
    base_data.pop("name", None)  # a name belongs to its own file
    return merge(base_data, data), {**base_origin, **origin}


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
        return f"unknown field '{loc[-1]}'{known}"
    if kind == "missing":
        return "required field is missing"
    msg = err["msg"].replace("Value error, ", "").replace("Input should be", "expected")
    if kind != "value_error" and "input" in err and not isinstance(err["input"], dict):
        msg += f", got {err['input']!r}"
    return msg


def _locate(loc: tuple, origin: dict, file: Path):
    for depth in range(len(loc), -1, -1):
        if tuple(loc[:depth]) in origin:
            return origin[tuple(loc[:depth])]
    return file, None


def _resolve_paths(data: dict, origin: dict) -> None:
    """File names in a scenario are relative to the file that wrote them."""
    def walk(node, path):
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key in ("file", "prices") and isinstance(value, str) and value.endswith((".yaml", ".json", ".txt", ".csv")):
                src = origin.get(path + (key,), (Path("."), None))[0]
                node[key] = os.path.relpath((Path(src).parent / value).resolve())
            else:
                walk(value, path + (key,))
    walk(data, ())


def load(file) -> Scenario:
    """A validated scenario, or InputError naming file, line, field path and what was expected."""
    file = Path(file)
    if not file.is_file():
        raise InputError(file, None, "", "no such scenario file")
    data, origin = _load_chain(file)
    _resolve_paths(data, origin)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        src, line = _locate(loc, origin, file)
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more error{'s' * (more > 1)})" if more else ""
        path = ".".join(str(p) for p in loc)
        raise InputError(src, line, path, _message(err) + suffix) from None
    for loc, dist in _distributions(scenario, ()):
        if dist.dist == "empirical":
            try:
                empirical_samples(dist.file, dist.key)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                src, line = _locate(loc + ("file",), origin, file)
                raise InputError(src, line, ".".join(map(str, loc)),
                                 f"cannot read samples in ms from {dist.file}"
                                 f"{' at key ' + dist.key if dist.key else ''}: {exc}") from None
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


def json_schema() -> dict:
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "sessionsim scenario"
    return schema
