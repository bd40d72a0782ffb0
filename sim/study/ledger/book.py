"""The ledger: every claim of a ledger file (data/claims/doc-ledger.yaml) judged against a
context of figures, one row per judged figure, and the summary line."""
from __future__ import annotations

from pathlib import Path

from sim.study.claims import CLAIMS_DIR
from sim.model.cost import PRICES_DIR
from sim.study.ledger.judges import JUDGES
from sim.model.yamlio import InputError, load_yaml

NEEDS = {"arithmetic": ("expr", "op", "value"), "simulated": ("expr", "op", "value"),
         "objectives": ("run",), "matrix": ("failure", "figures"), "availability": ("service",),
         "calibration": ("claim",), "not_judged": ("reason",)}
OPS = ("<", "<=", ">", ">=", "==", "between")
PRICE_NAMES = {"migration": "doc-migration", "ha": "doc-ha"}  # the names expressions use


def _claim(file, lines, key: str, claim) -> dict:
    path = ("claims", key)
    if not isinstance(claim, dict):
        raise InputError(file, lines.get(path), f"claims.{key}", "expected a mapping")
    for field in ("text", "where", "facts", "judge"):
        if not claim.get(field):
            raise InputError(file, lines.get(path), f"claims.{key}.{field}", "missing")
    judge = claim["judge"]
    how = judge.get("how") if isinstance(judge, dict) else None
    if how not in NEEDS:
        raise InputError(file, lines.get(path + ("judge",)), f"claims.{key}.judge.how",
                         f"expected one of {', '.join(NEEDS)}")
    for field in NEEDS[how]:
        if field not in judge:
            raise InputError(file, lines.get(path + ("judge",)), f"claims.{key}.judge.{field}",
                             f"missing (needed by how: {how})")
    if "op" in NEEDS[how] and judge["op"] not in OPS:
        raise InputError(file, lines.get(path + ("judge", "op")), f"claims.{key}.judge.op",
                         f"expected one of {', '.join(OPS)}")
    return claim


def load(name: str = "doc-ledger") -> dict:
    """{"file", "runs": {name: {...}}, "settings", "claims": {id: claim}}, checked."""
    file = Path(name) if name.endswith(".yaml") or "/" in name else CLAIMS_DIR / f"{name}.yaml"
    if not file.is_file():
        raise InputError(file, None, "", f"no such ledger file; expected a name in {CLAIMS_DIR} or a .yaml path")
    data, lines = load_yaml(file)
    claims = data.get("claims")
    if not isinstance(claims, dict) or not claims:
        raise InputError(file, lines.get(("claims",)), "claims", "expected a mapping of claims")
    runs = dict(data.get("runs") or {})
    settings = runs.pop("settings", {})
    return {"file": str(file), "settings": settings, "runs": runs,
            "claims": {k: _claim(file, lines, k, v) for k, v in claims.items()}}


def prices() -> dict:
    """The price files expressions name, each a flat {kind or item: USD per month}."""
    out = {}
    for short, name in PRICE_NAMES.items():
        data, _ = load_yaml(PRICES_DIR / f"{name}.yaml")
        out[short] = {**(data.get("nodes_usd_per_month") or {}), **(data.get("fixed_usd_per_month") or {})}
    return out


def judge_all(ledger: dict, context: dict) -> list[dict]:
    """One row per judged figure of every claim, in the file's order."""
    rows = []
    for key, claim in ledger["claims"].items():
        judge = claim["judge"]
        for result in JUDGES[judge["how"]](judge, context):
            figure_name = result.pop("figure_name", None)
            row = {"id": f"{key}/{figure_name}" if figure_name else key, "text": claim["text"],
                   "where": claim["where"], "facts": claim["facts"], "how": judge["how"]}
            if judge.get("note"):
                row["note"] = judge["note"]
            rows.append(row | result)
    return rows


def summary(rows: list[dict]) -> dict:
    counts = {"held": 0, "failed": 0, "conditional": 0, "uncertain": 0, "not judged": 0}
    for row in rows:
        v = row["verdict"]
        key = ("held" if v == "holds" else "failed" if v == "fails" else "conditional"
               if v.startswith("holds only") else v)
        counts[key] += 1
    text = (f"{len(rows)} claims: {counts['held']} held, {counts['failed']} failed, "
            f"{counts['conditional']} conditional, {counts['uncertain']} uncertain, "
            f"{counts['not judged']} not judged")
    return counts | {"total": len(rows), "line": text}
