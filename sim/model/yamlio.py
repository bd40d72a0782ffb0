"""YAML files read safely, with the line of every field, so that errors can point at them.

What a file can hold is bounded before anything is built from it (LIMITS): its size, its
nesting, the number of values once aliases are expanded (a "billion laughs" file is refused
after reading a few lines, not after filling the memory), one document. Only plain YAML
values: explicit tags other than the core ones (!!str, !!int, !!float, !!bool, !!null,
!!seq, !!map) are refused, dates stay strings, keys are plain scalars and appear once.
"""
from __future__ import annotations

import copy
import os
import stat
from pathlib import Path

import yaml

from sim.model.errors import UserError, printable

LIMITS = {
    "file_bytes": 1 << 20,   # a scenario, base, price or claims file (peak.yaml: 5 kB)
    "depth": 32,             # nesting of mappings and lists (a scenario needs 6)
    "values": 20_000,        # values in the document, aliases expanded (peak.yaml: 150)
    "key_chars": 200,        # characters of a mapping key
    "path_chars": 4096,      # characters of a file name
}


class InputError(UserError):
    """Bad user input: carries a one-line message naming the file, line and field."""

    def __init__(self, file, line, path, message):
        self.file, self.line, self.path, self.message = str(file), line, path, message
        file_text = printable(self.file, 160)
        where = f"{file_text}:{line}" if line else file_text
        field = f" {printable(path, 160)}:" if path else ""
        super().__init__(f"{where}:{field} {printable(message, 400)}")


def dotted(path: tuple) -> str:
    """A field path as the messages write it: topology.redis.replicas, failures.0.at_s."""
    return ".".join(printable(p, 60) for p in path)


def check_path(file, what: str = "file", field: str = "", where=None, line=None) -> Path:
    """A file name that can be looked up: not empty, no NUL byte, not absurdly long."""
    text = str(file)
    problem = ("is empty" if not text else "holds a NUL byte" if "\0" in text
               else f"is longer than {LIMITS['path_chars']} characters" if len(text) > LIMITS["path_chars"]
               else None)
    if problem:
        raise InputError(where if where is not None else "<input>", line, field,
                         f"the {what} name {problem}")
    return Path(text)


def read_bytes(file, limit: int, what: str = "file", field: str = "", where=None, line=None) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. A FIFO, a device (/dev/zero), a
    directory or a socket is refused before it is opened, so nothing blocks or streams forever.
    An error names `where` (the file naming this one, at `line` and `field`) when given."""
    path = check_path(file, what, field, where, line)
    here = (where, line, field) if where is not None else (path, None, field)
    named = f" {printable(path)}" if where is not None else ""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(*here, f"no such {what}{named}") from None
    except (OSError, ValueError) as exc:
        raise InputError(*here, f"cannot read {what}{named}: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(*here, f"{what}{named} is not a regular file")
    if st.st_size > limit:
        raise InputError(*here, f"{what}{named} has {st.st_size:,} bytes; the limit is {limit:,}")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(*here, f"cannot read {what}{named}: {exc.strerror}") from None
    if len(data) > limit:
        raise InputError(*here, f"{what}{named} has more than {limit:,} bytes")
    return data


def decode(data: bytes, file) -> str:  # noqa: D401
    """UTF-8 text (a byte-order mark allowed), or an error naming the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(file, line, "", f"not UTF-8 text: byte 0x{data[exc.start]:02x} "
                                         f"at offset {exc.start}; save the file as UTF-8") from None


class _Loader(yaml.SafeLoader):
    """The safe loader without the implicit types that surprise: dates stay strings (a name
    `2024-01-01` is a name; `2024-13-45` no longer fails), `=` and `<<` are plain strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag.rsplit(":", 1)[-1] not in ("timestamp", "value", "merge")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

CORE = "tag:yaml.org,2002:"
SCALAR_TAGS = {CORE + t for t in ("str", "int", "float", "bool", "null")}
_Parser = yaml.cyaml.CParser if getattr(yaml, "__with_libyaml__", False) else None


def _events(text: str):
    if _Parser is not None:
        parser = _Parser(text)
        try:
            while (event := parser.get_event()) is not None:
                yield event
        finally:
            parser.dispose()
    else:  # pragma: no cover - PyYAML without libyaml
        yield from yaml.parse(text, Loader=yaml.SafeLoader)


def _tag(tag: str) -> str:
    return printable("!!" + tag[len(CORE):] if tag.startswith(CORE) else tag, 40)


class _Builder:
    """Python data from YAML events, one event at a time (no recursion), within LIMITS."""

    def __init__(self, file, text):
        self.file, self.text = file, text
        self.lines: dict = {}
        self.anchors: dict = {}   # anchor -> (value, size in values)
        self.values = 0
        self.resolver = _Loader("")
        self.last = ((), None)  # the field being read, for a syntax error
        self.scalars: dict = {}  # (tag, implicit, text) -> value: scalars are immutable

    @staticmethod
    def path_of(stack) -> tuple:
        return stack[-1]["full"] if stack else ()

    def fail(self, line, stack, message, extra=()):
        raise InputError(self.file, line, dotted(self.path_of(stack) + tuple(extra)), message)

    def count(self, n, line, stack):
        self.values += n
        if self.values > LIMITS["values"]:
            self.fail(line, stack, f"more than {LIMITS['values']:,} values (aliases expanded); "
                                   "this is no scenario")

    def scalar(self, event, line, stack, part):
        cached = self.scalars.get((event.tag, event.implicit, event.value), self)
        if cached is not self:
            return cached
        value = self._scalar(event, line, stack, part)
        self.scalars[(event.tag, event.implicit, event.value)] = value
        return value

    def _scalar(self, event, line, stack, part):
        tag = event.tag
        if tag == "!":
            tag = CORE + "str"
        if tag is None:
            tag = (self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit))
        if tag not in SCALAR_TAGS:
            self.fail(line, stack, f"tag {_tag(event.tag or tag)} is not allowed; "
                                   "write plain values (numbers, strings, true/false, null)",
                      () if part is None else (part,))
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return self.resolver.construct_object(node, deep=True)
        except Exception:  # noqa: BLE001 - any failure of a scalar is the user's value
            self.fail(line, stack, f"cannot read '{printable(event.value, 40)}' as "
                                   f"{tag.rsplit(':', 1)[-1]}", () if part is None else (part,))

    def build(self):
        stack: list = [{"kind": "root", "value": None, "full": (), "size": 0, "key": None, "anchor": None}]
        documents = 0
        for event in _events(self.text):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    self.fail(line, [], "more than one YAML document (---); expected one")
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
                continue
            top = stack[-1]
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
                self._attach(stack, top["value"], top["size"], top["anchor"], line)
                continue
            if top["kind"] == "map" and top["key"] is None:  # this event is a key
                if not isinstance(event, yaml.ScalarEvent) or event.anchor is not None:
                    self.fail(line, stack, "a mapping key must be a plain name, not a list, "
                                           "a mapping, an anchor or an alias")
                key = event.value
                if len(key) > LIMITS["key_chars"]:
                    self.fail(line, stack, f"a key of {len(key):,} characters: {printable(key, 40)}")
                if key in top["value"]:
                    first = self.lines.get(self.path_of(stack) + (key,))
                    self.fail(line, stack, f"duplicate key (first on line {first}); "
                                           "write each key once", (key,))
                top["key"] = key
                self.count(1, line, stack)
                self.lines[self.path_of(stack) + (key,)] = line
                continue
            part = top["key"] if top["kind"] == "map" else len(top["value"]) if top["kind"] == "seq" else None
            here = self.path_of(stack) + ((part,) if part is not None else ())
            self.lines.setdefault(here, line)
            self.last = (here, line)
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in self.anchors:
                    self.fail(line, stack, f"alias *{printable(event.anchor, 40)} names no anchor "
                                           "defined before it (or names the one it is inside)")
                value, size = self.anchors[event.anchor]
                self.count(size, line, stack)
                self._attach(stack, copy.deepcopy(value), size, None, line)
            elif isinstance(event, yaml.ScalarEvent):
                self.count(1, line, stack)
                self._attach(stack, self.scalar(event, line, stack, part), 1, event.anchor, line)
            else:  # a mapping or a list opens
                kind = "map" if isinstance(event, yaml.MappingStartEvent) else "seq"
                if event.tag not in (None, "!", CORE + kind):
                    self.fail(line, stack, f"tag {_tag(event.tag)} is not allowed; "
                                           "write plain mappings and lists", () if part is None else (part,))
                if len(stack) > LIMITS["depth"]:
                    self.fail(line, stack, f"nested more than {LIMITS['depth']} levels deep")
                if event.anchor is not None and event.anchor in self.anchors:
                    self.fail(line, stack, f"anchor &{printable(event.anchor, 40)} defined twice")
                self.count(1, line, stack)
                stack.append({"kind": kind, "value": {} if kind == "map" else [], "full": here,
                              "size": 1, "anchor": event.anchor, "key": None})
        return stack[0]["value"]

    def _attach(self, stack, value, size, anchor, line):
        if anchor is not None:
            if anchor in self.anchors:
                self.fail(line, stack, f"anchor &{printable(anchor, 40)} defined twice")
            self.anchors[anchor] = (value, size)
        top = stack[-1]
        top["size"] += size
        if top["kind"] == "map":
            top["value"][top["key"]] = value
            top["key"] = None
        elif top["kind"] == "seq":
            top["value"].append(value)
        else:
            top["value"] = value


def _after(last) -> str:
    """Where a syntax error stands: after the last field read (the path names the field)."""
    return f"after {dotted(last[0])}" if last[0] else ""


def parse_yaml(text: str, file) -> tuple:
    """(data, lines) of YAML text; data is whatever the document holds (None when empty)."""
    builder = _Builder(file, text)
    try:
        data = builder.build()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "unreadable"
        raise InputError(file, mark.line + 1 if mark else None, _after(builder.last),
                         f"invalid YAML: {problem}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise InputError(file, line, _after(builder.last), f"invalid YAML: character "
                         f"'{printable(char)}' is not allowed in a YAML file") from None
    except yaml.YAMLError as exc:
        raise InputError(file, None, "", f"invalid YAML: {exc}") from None
    finally:
        builder.resolver.dispose()
    return data, builder.lines


def load_yaml(file, where=None, line=None, field="", what="file") -> tuple[dict, dict]:
    """Returns (data, lines) where lines maps a field path tuple to its line number. `where`,
    `line` and `field` name the file and field that named this one, for an error reading it."""
    file = check_path(file, what, field, where, line)
    text = decode(read_bytes(file, LIMITS["file_bytes"], what, field, where, line), file)
    data, lines = parse_yaml(text, file)
    if data is None:
        return {}, {}
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
