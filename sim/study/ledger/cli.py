"""`python simulate.py availability SCENARIO` and `python simulate.py claims`."""
from __future__ import annotations

import argparse
from pathlib import Path

from sim.model.errors import UserError

DEFAULT_MATRIX = Path(__file__).resolve().parents[3] / "scenarios" / "failure-matrix.yaml"


class UsageError(UserError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _refuse_overwrite(paths: list[Path], force: bool):
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise UsageError(f"{', '.join(existing)} exist; use --force to replace them")


def availability(args, progress=None) -> tuple[dict, dict, str]:
    """The availability model of args.scenario's matrix (reused from args.matrix_report)."""
    from sim.study import availability as model
    from sim.model import reliability, scenario as scenario_io
    from sim.study.ledger.inputs import availability_targets, matrix_report
    if args.years < 100:
        raise UsageError("--years: expected at least 100")
    rel = reliability.load(args.reliability)
    matrix, source = matrix_report(args.matrix_report, args.scenario, progress)
    claims = scenario_io.load(args.scenario).incidents.claims
    try:
        result = model.model(rel, matrix, availability_targets(claims), years=args.years, seed=args.seed)
    except KeyError as exc:
        raise UsageError(f"{rel['file']}: {exc.args[0]}") from None
    return result, matrix, source


def write_availability(out: Path, result: dict, matrix: dict, source: str) -> str:
    """availability.json, availability.md and availability.html in out; returns the markdown."""
    from reporting import html
    from reporting.availability import markdown
    from reporting.writer import dump_json, jsonable, write_text
    data = jsonable(result | {"matrix_report": source})
    dump_json(out / "availability.json", data)
    revenue = matrix.get("scenario", {}).get("incidents", {}).get("revenue_usd_per_hour")
    text = markdown(result, source, revenue)
    write_text(out / "availability.md", text + "\n")
    write_text(out / "availability.html", html.render_page("sessionsim: annual availability", text, data))
    return text


def _availability_options(parser):
    parser.add_argument("--matrix-report", type=Path, help="reuse this failure matrix's report.json")
    parser.add_argument("--reliability", default="doc-ha", help="data/reliability/ file by name, or a .yaml path")
    parser.add_argument("--years", type=int, default=20_000, help="simulated years (default 20,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="replace existing output files")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def cmd_availability(argv, progress=None) -> int:
    parser = _Parser(prog="simulate.py availability",
                     description="Annual availability from failure rates and the failure matrix.")
    parser.add_argument("scenario", type=Path, nargs="?", default=DEFAULT_MATRIX)
    parser.add_argument("--out", type=Path, default=Path("reports/availability"))
    _availability_options(parser)
    args = parser.parse_args(argv)
    paths = [args.out / "availability.json", args.out / "availability.md"]
    _refuse_overwrite(paths, args.force)
    result, matrix, source = availability(args, progress)
    args.out.mkdir(parents=True, exist_ok=True)
    text = write_availability(args.out, result, matrix, source)
    print(text)
    print(f"availability: {args.out}/ ({', '.join(p.name for p in paths)})")
    return 0


def context(ledger: dict, matrix: dict, avail: dict | None, runs: dict, calibration: list | None) -> dict:
    """What the judges read (sim/study/ledger/judges.py)."""
    from sim.study.ledger.book import prices
    return {"prices": prices(), "runs": runs, "availability": avail, "calibration": calibration,
            "matrix_entries": {e["name"]: e for e in matrix.get("failures", [])},
            "missing": {name: f"run {name} not available" for name in ledger["runs"]}}


def _calibration(path: Path | None) -> list | None:
    if path is None:
        return None
    from redis_backend.claims import evaluate
    from sim.study.ledger.inputs import read_json
    return evaluate(read_json(path))


def _runs_source(reports: dict, ran: list[str]) -> str:
    return ", ".join(f"{n} ({r['scenario']['name']}, seed {r['seed']}, {'run now' if n in ran else 'reused'})"
                     for n, r in reports.items()) or "none"


def cmd_claims(argv, progress=None) -> int:
    parser = _Parser(prog="simulate.py claims", description="Judge every claim of the design document.")
    parser.add_argument("--ledger", default="doc-ledger", help="data/claims/ ledger by name, or a .yaml path")
    parser.add_argument("--scenario", type=Path, default=DEFAULT_MATRIX, help="the failure matrix scenario")
    parser.add_argument("--calibration", type=Path, help="a calibration.json (python simulate.py calibrate)")
    parser.add_argument("--out", type=Path, default=Path("reports/claims"))
    _availability_options(parser)
    args = parser.parse_args(argv)
    from reporting import html
    from reporting.ledger import markdown
    from reporting.writer import dump_json, jsonable, write_text
    from sim.study.ledger import book, runs
    ledger = book.load(args.ledger)
    paths = [args.out / "claims.json", args.out / "claims.md", args.out / "claims.html"]
    _refuse_overwrite(paths, args.force)
    calibration = _calibration(args.calibration)
    avail, matrix, matrix_source = availability(args, progress)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.matrix_report is None:
        dump_json(args.out / "failure-matrix.json", matrix)
        matrix_source += f", kept in {args.out / 'failure-matrix.json'} (--matrix-report to reuse it)"
    write_availability(args.out, avail, matrix, matrix_source)
    reports, ran = runs.run_all(ledger, args.out, progress)
    rows = book.judge_all(ledger, context(ledger, matrix, avail, reports, calibration))
    result = {"ledger": ledger["file"], "summary": book.summary(rows), "rows": rows, "sources": {
        "matrix": f"{matrix_source} (seed {matrix.get('seed')})",
        "settings": ", ".join(f"{k} {v}" for k, v in ledger["settings"].items()),
        "runs": _runs_source(reports, ran),
        "availability": f"{avail['reliability']}, {avail['years']:,} years, seed {avail['seed']}",
        "calibration": str(args.calibration) if args.calibration else "none"}}
    dump_json(paths[0], result)
    text = markdown(result)
    write_text(paths[1], text + "\n")
    write_text(paths[2], html.render_page("sessionsim: the document's claims", text, jsonable(result)))
    print(result["summary"]["line"])
    print(f"claims: {args.out / 'claims.html'} (beside it claims.md, claims.json and availability.*)")
    return 0
