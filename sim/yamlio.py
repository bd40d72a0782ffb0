"""YAML files with the line of every field, so that errors can point at them."""
from __future__ import annotations

from pathlib import Path

import yaml

from sim.errors import UserError


class InputError(UserError):
    """Bad user input: carries a one-line message naming the file, line and field."""

    def __init__(self, file, line, path, message):
        self.file, self.line, self.path, self.message = str(file), line, path, message
        where = f"{self.file}:{line}" if line else self.file
        field = f" {path}:" if path else ""
        super().__init__(f"{where}:{field} {message}")


def _construct(node, path, lines):
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = key_node.value
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, path + (i,), lines) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node):
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_yaml(file) -> tuple[dict, dict]:
    """Returns (data, lines) where lines maps a field path tuple to its line number."""
    file = Path(file)
    try:
        text = file.read_text()
    except OSError as exc:
        raise InputError(file, None, "", f"cannot read: {exc.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(file, mark.line + 1 if mark else None, "", f"invalid YAML: {problem}") from None
    if node is None:
        return {}, {}
    lines: dict = {}
    data = _construct(node, (), lines)
    if not isinstance(data, dict):
        raise InputError(file, 1, "", "expected a mapping of fields at the top level")
    return data, lines


DISCRIMINATORS = ("dist", "kind")  # a distribution's or an arrival process's type


def merge(base: dict, override: dict) -> dict:
    """Deep merge: mappings merge key by key, anything else in override replaces base. A mapping
    that changes its type (`dist`, `kind`) replaces the base's: a lognormal's cv means nothing
    to the empirical distribution that takes its place."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and not any(
                k in value and value[k] != out[key].get(k) for k in DISCRIMINATORS):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
