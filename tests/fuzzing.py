"""Hostile scenario files made by hypothesis, and the judge of what the tool does with them.

Four sources: the shipped scenarios with values replaced, keys removed, added or renamed
(`mutated_documents`); their text with characters and YAML syntax spliced in (`mutated_text`);
their bytes flipped, cut and spliced, invalid UTF-8 and NUL included (`mutated_bytes`); and
documents drawn from scenarios/schema.json itself (`schema_documents`). `judge` loads one file
as every command does and says what came of it: a clean error (one printable line), valid, or a
traceback. Used by tests/test_fuzz.py (a short profile) and benchmarks/fuzz_input.py (10,000+).
"""
from __future__ import annotations

import json
import math
import shutil
import traceback
from pathlib import Path

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SCHEMA = json.loads((ROOT / "scenarios" / "schema.json").read_text())
TEXTS = {f.name: f.read_text() for f in SCENARIOS}
DOCS = {name: yaml.safe_load(text) for name, text in TEXTS.items()}


def setup_dir(directory: Path) -> None:
    """The shipped scenarios beside the fuzzed files, so that `base: peak.yaml` resolves, and a
    few sample files for empirical distributions to name."""
    for f in SCENARIOS:
        shutil.copy(f, directory / f.name)
    (directory / "samples.txt").write_text("1.0\n2.5\n0.3\n")
    (directory / "samples.json").write_text('{"a": {"b": [1, 2, 3]}, "n": 5}')


# -- values ------------------------------------------------------------------------------------

NASTY_FLOATS = st.sampled_from([0.0, -0.0, -1.0, 1e-9, 1e-300, 1e9, 1e18, 1e308, math.inf, -math.inf,
                                math.nan, 0.5, 2.0, 6000.0])
NASTY_INTS = st.sampled_from([0, -1, 1, 2, 3, 24, 255, 256, 2 ** 31, 2 ** 63, 2 ** 64, 10 ** 9, 10 ** 30])
NASTY_TEXT = st.sampled_from(["", " ", "peak.yaml", "../../x", "/dev/zero", "/etc/passwd", ".", "\0",
                              "a\nb", "\x1b[31mred", "x" * 300, "é", "true", "null", "1e309", "nan",
                              "samples.txt", "samples.json", "a.b", "constant", "empirical",
                              "lognormal", "redis_ha", "db_fleet", "app-1", "redis_master", "all",
                              "session_update", "~", "*", "&", "!!float", "{}", "[]"])
SCALARS = st.one_of(NASTY_FLOATS, NASTY_INTS, NASTY_TEXT, st.booleans(), st.none(),
                    st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                    st.text(max_size=20))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(NASTY_TEXT, st.text(max_size=8)), inner,
                                                  max_size=4)), max_leaves=12)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


def _get(node, path):
    for p in path:
        node = node[p]
    return node


@st.composite
def mutated_documents(draw) -> str:
    """A shipped scenario with a few edits at random places, dumped as YAML."""
    import copy
    name = draw(st.sampled_from(sorted(DOCS)))
    doc = copy.deepcopy(DOCS[name])
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(doc))[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _get(doc, path[:-1])
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "rename",
                                       "wrap", "base"]))
        key = path[-1]
        if action == "replace":
            parent[key] = draw(VALUES)
        elif action == "delete" and isinstance(parent, dict):
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.one_of(NASTY_TEXT, st.text(max_size=10)))] = draw(VALUES)
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(NASTY_TEXT)] = parent.pop(key)
        elif action == "wrap":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
        elif action == "base":
            doc["base"] = draw(st.sampled_from(sorted(DOCS) + ["samples.txt", "/dev/zero", "nope.yaml",
                                                             "x" * 300 + ".yaml", name]))
    return yaml.safe_dump(doc, allow_unicode=draw(st.booleans()), sort_keys=False)


SNIPPETS = ["&a ", "*a", "*b", "!!float ", "!!int ", "!foo ", "!!timestamp ", "!!python/object:os.system ",
            "? [a]\n: 1\n", "---\n", "...\n", "\t", "{", "}", "[", "]", ",", ": ", "- ", "#", "'", '"',
            "|\n", ">\n", "%YAML 1.1\n", "<<: *a\n", ".nan", ".inf", "-.inf", "1e309", "0x1F", "0o17",
            "1_000", "1:30", "2024-13-45", "~", "null", "yes", "\u2028", "\ufeff", "\x85", "\x1b[2J",
            "\r", "\n  ", "base: peak.yaml\n", "base: day.yaml\n", "name: x\n", "9" * 5000]


@st.composite
def mutated_text(draw) -> str:
    """A shipped scenario's text with YAML syntax and odd characters spliced in or cut out."""
    text = TEXTS[draw(st.sampled_from(sorted(TEXTS)))]
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["snippet", "snippet", "chars", "cut", "line"]))
        if action == "snippet":
            text = text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]
        elif action == "chars":
            text = text[:at] + draw(st.text(max_size=5)) + text[at:]
        elif action == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 80)):]
        else:
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(0, max(len(lines) - 1, 0)))
            j = draw(st.integers(0, max(len(lines) - 1, 0)))
            if lines:
                lines.insert(j, lines[i])
            text = "".join(lines)
    return text


@st.composite
def mutated_bytes(draw) -> bytes:
    """A shipped scenario's bytes with bytes flipped, cut or spliced in (any byte at all)."""
    data = bytearray(TEXTS[draw(st.sampled_from(sorted(TEXTS)))].encode())
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "cut", "bom"]))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "cut":
            del data[at:at + draw(st.integers(1, 40))]
        else:
            data[0:0] = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\0"]))
    return bytes(data)


# -- documents from the schema -----------------------------------------------------------------

def _resolve(node):
    while "$ref" in node and len(node) == 1 or ("$ref" in node and "properties" not in node
                                                 and "type" not in node):
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _from_schema(node, depth=0):
    """A strategy of values for a JSON Schema node: mostly within it, sometimes not."""
    node = _resolve(node)
    off = VALUES if depth < 4 else SCALARS
    if "anyOf" in node:
        return st.one_of([_from_schema(n, depth) for n in node["anyOf"]])
    if "enum" in node:
        return st.one_of(st.sampled_from(node["enum"]), off) if depth > 1 else st.sampled_from(node["enum"])
    if "const" in node:
        return st.just(node["const"])
    kind = node.get("type")
    if kind == "number":
        lo, hi = node.get("minimum", node.get("exclusiveMinimum", -1e6)), node.get("maximum", 1e6)
        return st.one_of(st.floats(min_value=max(lo, -1e6), max_value=min(hi, 1e6)), NASTY_FLOATS)
    if kind == "integer":
        lo, hi = node.get("minimum", node.get("exclusiveMinimum", -10)), node.get("maximum", 10 ** 6)
        return st.one_of(st.integers(min_value=max(lo, -10), max_value=min(hi, 64)), NASTY_INTS)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "string":
        return st.one_of(NASTY_TEXT, st.from_regex(r"\A[a-z][a-z0-9-]{0,12}\Z"))
    if kind == "array":
        items = node.get("items", {})
        return st.lists(_from_schema(items, depth + 1) if depth < 5 else SCALARS, max_size=4)
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        extra = node.get("additionalProperties")
        if not props and isinstance(extra, dict):
            return st.dictionaries(st.one_of(NASTY_TEXT, st.from_regex(r"\A[a-z_]{1,12}\Z")),
                                   _from_schema(extra, depth + 1), max_size=4)
        if depth > 5:
            return st.just({})
        required = set(node.get("required", []))
        fields = {k: _from_schema(v, depth + 1) for k, v in props.items()}
        return st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k in required},
            optional={k: v for k, v in fields.items() if k not in required})
    return off


@st.composite
def schema_documents(draw) -> str:
    """A scenario drawn from scenarios/schema.json: a whole one, or an override of a shipped one."""
    whole = draw(st.booleans())
    doc = draw(_from_schema(SCHEMA["$defs"]["Scenario" if whole else "ScenarioOverride"]))
    if whole:
        doc.pop("base", None)
    else:
        doc["base"] = draw(st.sampled_from(sorted(DOCS)))
    return yaml.safe_dump(doc, sort_keys=False)


ANY_FILE = st.one_of(mutated_documents(), mutated_text(), mutated_bytes(), schema_documents())


# -- the judge ---------------------------------------------------------------------------------

def judge(file: Path) -> tuple[str, str]:
    """("error", the line) for a clean refusal, ("valid", "") or ("traceback", the traceback):
    the file loaded as `validate` and every run load it, with its price and claims files."""
    import simulate
    from sim.model.errors import MESSAGE_LIMIT, UserError, printable
    from sim.study import budget
    try:
        scenario = simulate.load_scenario(file)
        budget.check(scenario)  # what a run checks next: refused (an error) or within limits
    except UserError as exc:
        line = printable(exc, MESSAGE_LIMIT)
        return "error", line
    except Exception:  # noqa: BLE001 - what the fuzzer looks for
        return "traceback", traceback.format_exc()
    return "valid", ""


def clean(line: str) -> bool:
    """One printable line, short, naming a file."""
    return line.isprintable() and 0 < len(line) <= 600 and ":" in line


def hand_made() -> dict[str, bytes]:
    """Hostile files written by hand: the cases of issue 16 that generated input rarely reaches."""
    good = TEXTS["peak.yaml"]
    laughs = 'name: lol\na0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10))
    cases = {
        "billion-laughs": laughs,
        "recursive-alias": good + "description: &d [1, *d]\n",
        "deep-flow": good + "x: " + "[" * 1000 + "]" * 1000 + "\n",
        "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(1000)),
        "million-list": "name: x\nbase: peak.yaml\ndescription: [" + "1," * 1_000_000 + "1]\n",
        "nul": good + "description: a\0b\n",
        "latin1": good.encode().decode() + "description: caf\udce9\n",
        "utf16": good.encode("utf-16").decode("latin-1"),
        "float-tag": good + "x: !!float abc\n",
        "foo-tag": good + "x: !foo bar\n",
        "timestamp-tag": good + "x: !!timestamp abc\n",
        "python-tag": good + "x: !!python/object/apply:os.system [ls]\n",
        "list-key": good + "? [a, b]\n: 1\n",
        "architecture-list": good.replace("architecture: redis_ha", "architecture: [redis_ha]"),
        "long-base": "name: x\nbase: " + "x" * 300 + ".yaml\n",
        "inf-rate": "name: x\nbase: peak.yaml\nworkload: {arrivals: {kind: constant, rate_rps: .inf}}\n",
        "nan-mix": "name: x\nbase: peak.yaml\nworkload: {mix: {session_update: .nan, login: 1}}\n",
        "inf-mean": "name: x\nbase: peak.yaml\ntopology: {postgres: {write_service: {dist: lognormal, mean_ms: .inf, cv: 1}}}\n",
        "empirical-number": "name: x\nbase: peak.yaml\ntopology: {redis: {roundtrip_service: {dist: empirical, file: samples.json, key: n}}}\n",
        "empirical-devzero": "name: x\nbase: peak.yaml\ntopology: {redis: {roundtrip_service: {dist: empirical, file: /dev/zero}}}\n",
        "duplicate-key": good + "name: again\n",
        "escape-key": good + '"\\e[2Jkey\\nline": 1\n',
        "huge-value": good.replace("rate_rps: 6000", "rate_rps: " + "x" * 3_000_000),
        "name-path": good.replace("name: peak", "name: ../../x"),
        "name-empty": good.replace("name: peak", "name: ''"),
        "cores-1e9": "name: x\nbase: peak.yaml\ntopology: {app_servers: {cores: 1000000000}}\n",
        "replicas-1e7": "name: x\nbase: peak.yaml\ntopology: {redis: {replicas: 10000000}}\n",
        "inter-1e-9": "name: x\nbase: peak.yaml\nmechanisms: {health_check: {inter_s: 1.0e-9}}\n",
        "duplicate-failures": "name: x\nbase: failure-matrix.yaml\nfailures: [{name: a, component: all, at_s: 1}, {name: A, component: all, at_s: 2}]\n",
        "base-cycle": "name: fuzz\nbase: fuzz.yaml\n",
    }
    return {k: v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v for k, v in cases.items()}
