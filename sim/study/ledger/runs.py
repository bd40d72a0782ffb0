"""The short runs the ledger's simulated claims read: shipped scenarios with the ledger's settings
and overrides. A run's report is kept (OUT/runs/NAME.json) and reused while its resolved
scenario is the same, to the last field (a changed scenario, seed or setting runs again)."""
from __future__ import annotations

import json
from pathlib import Path

from sim.model import scenario as scenario_io
from sim.model.schema import Scenario
from sim.model.yamlio import merge

SCENARIOS_DIR = Path(__file__).resolve().parents[3] / "scenarios"


def scenario_of(spec: dict, settings: dict) -> Scenario:
    base = scenario_io.load(SCENARIOS_DIR / spec["scenario"])
    data = merge(scenario_io.resolved(base), spec.get("set") or {})
    data = merge(data, {"simulation": settings})
    return Scenario.model_validate(data)


def _kept(path: Path, scenario: Scenario) -> dict | None:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    from reporting.writer import jsonable
    return report if report.get("scenario") == jsonable(scenario_io.resolved(scenario)) else None


def run_all(ledger: dict, out: Path, progress=None) -> tuple[dict, list[str]]:
    """{run name: report}, and the names run now (the others reused)."""
    from reporting.writer import dump_json
    from sim.study.runner import run
    reports, ran = {}, []
    (out / "runs").mkdir(parents=True, exist_ok=True)
    for name, spec in ledger["runs"].items():
        scenario = scenario_of(spec, ledger["settings"])
        path = out / "runs" / f"{name}.json"
        report = _kept(path, scenario)
        if report is None:
            report = run(scenario, progress(scenario, f"ledger run {name}") if progress else None)
            dump_json(path, report.to_dict() | {"series": None})  # the time series are not read
            report = json.loads(path.read_text(encoding="utf-8"))
            ran.append(name)
        reports[name] = report
    return reports, ran
