"""Failure rates and repair times per node kind (data/reliability/*.yaml), checked on loading."""
from __future__ import annotations

from pathlib import Path

from sim.model.yamlio import InputError, load_yaml

RELIABILITY_DIR = Path(__file__).resolve().parents[2] / "data" / "reliability"
HITS = ("every", "role")


def _figure(file, lines, path: tuple, value, sources: dict) -> dict:
    where = lines.get(path)
    if not isinstance(value, dict) or not isinstance(value.get("value"), (int, float)) \
            or value["value"] <= 0:
        raise InputError(file, where, ".".join(path), "expected {value: hours > 0, source: NAME}")
    if value.get("source") not in sources:
        raise InputError(file, where, ".".join(path) + ".source",
                         f"expected one of the file's sources: {', '.join(sorted(sources))}")
    return {"value": float(value["value"]), "source": value["source"],
            "assumption": bool(value.get("assumption", False)), "note": value.get("note", "")}


def _kind(file, lines, name: str, kind, sources: dict) -> dict:
    path = ("node_kinds", name)
    if not isinstance(kind, dict) or not isinstance(kind.get("count"), int) or kind["count"] < 1:
        raise InputError(file, lines.get(path), ".".join(path) + ".count", "expected an integer >= 1")
    hits = kind.get("hits", "every")
    if hits not in HITS:
        raise InputError(file, lines.get(path + ("hits",)), ".".join(path) + ".hits",
                         f"expected one of {', '.join(HITS)}")
    return {"count": kind["count"], "failure": kind.get("failure"), "hits": hits,
            "mtbf_h": _figure(file, lines, path + ("mtbf_h",), kind.get("mtbf_h"), sources),
            "mttr_h": _figure(file, lines, path + ("mttr_h",), kind.get("mttr_h"), sources)}


def load(name: str) -> dict:
    """{"name", "file", "sources", "node_kinds": {kind: ...}, "services": {service: [kind]}}."""
    file = Path(name) if name.endswith(".yaml") else RELIABILITY_DIR / f"{name}.yaml"
    if not file.is_file():
        raise InputError(file, None, "", "no such reliability file; expected a name in "
                         f"{RELIABILITY_DIR} or a .yaml path")
    data, lines = load_yaml(file)
    sources = data.get("sources") or {}
    kinds = data.get("node_kinds")
    if not isinstance(kinds, dict) or not kinds:
        raise InputError(file, lines.get(("node_kinds",)), "node_kinds", "expected a mapping of node kinds")
    node_kinds = {k: _kind(file, lines, k, v, sources) for k, v in kinds.items()}
    services = data.get("services") or {"overall": list(node_kinds)}
    for service, members in services.items():
        unknown = [m for m in members or [] if m not in node_kinds]
        if not members or unknown:
            raise InputError(file, lines.get(("services", service)), f"services.{service}",
                             f"expected a list of node kinds of node_kinds (unknown: {', '.join(unknown)})")
    return {"name": data.get("name", file.stem), "file": str(file), "sources": sources,
            "node_kinds": node_kinds, "services": services}
