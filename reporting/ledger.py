"""claims.md: the ledger as one table a reviewer reads top to bottom."""
from __future__ import annotations

from reporting.fmt import figure, table


def _figure(row: dict) -> str:
    fig = row.get("figure")
    if fig is None:
        return ""
    if isinstance(fig, list):
        return "; ".join(figure(f) for f in fig)
    return figure(fig, sig=6 if row["how"] == "availability" else 3)


def _verdict(row: dict) -> str:
    if row["verdict"] == "not judged":
        return f"not judged: {row['reason']}"
    return row["verdict"]


def markdown(result: dict) -> str:
    rows = [[r["id"], r["text"], r["where"], r.get("claimed", ""), _figure(r), _verdict(r),
             "; ".join(x for x in (r.get("basis", ""), r.get("note", "")) if x)] for r in result["rows"]]
    sources = result["sources"]
    lines = [f"# The design document's claims ({result['ledger']})", "",
             f"**{result['summary']['line']}.**", "",
             "A claim holds only when the whole 95% interval of its figure meets it, fails when none "
             "of it does, and is uncertain otherwise; arithmetic is recomputed exactly; a run that is "
             "not steady judges nothing.", "",
             f"Failure matrix: {sources['matrix']}. Runs ({sources['settings']}): {sources['runs']}. "
             f"Availability: {sources['availability']}. Calibration: {sources['calibration']}.", "",
             table(["claim", "the document says", "where", "claimed", "figure (95% interval)", "verdict",
                    "how it was judged"], rows, align="lllllll"), ""]
    return "\n".join(lines)
