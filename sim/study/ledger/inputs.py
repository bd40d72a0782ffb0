"""What the ledger and the availability model read: a failure-matrix report (reused from a file,
or run), the document's availability targets."""
from __future__ import annotations

import json
from pathlib import Path

from sim.study.claims import CLAIMS_DIR
from sim.model.yamlio import InputError, load_yaml


def read_json(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(path, None, "", f"cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, "", f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise InputError(path, None, "", "expected a JSON object")
    return data


def read_report(path: Path) -> dict:
    """A report.json written by `python simulate.py SCENARIO`."""
    data = read_json(path)
    if "metrics" not in data:
        raise InputError(path, None, "metrics", "missing; expected a report.json of simulate.py")
    return data


def matrix_report(path: Path | None, scenario_file: Path, progress=None) -> tuple[dict, str]:
    """The failure matrix's report (from `path`, else run now), and where it came from."""
    if path is not None:
        report = read_report(path)
        if not report.get("failures"):
            raise InputError(path, None, "failures", "missing; expected a failure-matrix report")
        return report, str(path)
    from sim.model import scenario as scenario_io
    from sim.study.failure_matrix import run
    scenario = scenario_io.load(scenario_file)
    if not scenario.failures:
        raise InputError(scenario_file, None, "failures", "none; expected a failure-matrix scenario")
    return (run(scenario, progress).to_dict(),
            f"{scenario_file} (run now, seed {scenario.simulation.seed})")


def availability_targets(claims: str = "doc-failure-matrix") -> dict:
    """{service: availability} of a claims file's `targets.availability`."""
    file = Path(claims) if claims.endswith(".yaml") else CLAIMS_DIR / f"{claims}.yaml"
    data, lines = load_yaml(file)
    targets = (data.get("targets") or {}).get("availability")
    if not isinstance(targets, dict) or not all(isinstance(v, float) and 0 < v < 1 for v in targets.values()):
        raise InputError(file, lines.get(("targets",)), "targets.availability",
                         "expected a mapping of services to availabilities between 0 and 1")
    return targets
