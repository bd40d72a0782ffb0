"""scenarios/schema.json describes files as users write them: every shipped scenario passes it
(with `base:` an override needs only its name), and bad files the tool refuses it refuses too,
where JSON Schema can say why (sums, NaN and checks across fields are the loader's alone)."""
import json
from pathlib import Path

import jsonschema
import pytest

import simulate
from sim.model.yamlio import parse_yaml
from tests.helpers import TINY

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "scenarios" / "schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

GOOD = TINY

BAD = {
    "unknown field": GOOD + "topology:\n  app_servers:\n    cors: 4\n",
    "wrong type": GOOD.replace("rate_rps: 100", "rate_rps: lots"),
    "boolean for a number": GOOD.replace("rate_rps: 100", "rate_rps: true"),
    "out of range": GOOD + "topology: {app_servers: {workers: -3}}\n",
    "above its bound": GOOD + "topology: {app_servers: {cores: 1000000}}\n",
    "bad choice": GOOD.replace("redis_ha", "redis_cluster"),
    "no architecture without base": GOOD.replace("architecture: redis_ha\n", ""),
    "no workload without base": "name: tiny\narchitecture: redis_ha\n",
    "no name": GOOD.replace("name: tiny\n", ""),
    "no name with base": "base: peak.yaml\n",
    "a name that is a path": GOOD.replace("name: tiny", "name: ../../x"),
    "constant arrivals without a rate": GOOD.replace("    rate_rps: 100\n", ""),
    "piecewise without points": GOOD.replace("constant", "piecewise"),
    "diurnal profile of 3 hours": GOOD.replace("kind: constant\n    rate_rps: 100",
                                               "kind: diurnal\n    daily_users: 10\n"
                                               "    hourly_profile: [1, 2, 3]"),
    "lognormal without cv": GOOD + "topology:\n  redis:\n    roundtrip_service: {dist: lognormal, mean_ms: 1}\n",
    "empirical without file": GOOD + "topology:\n  redis:\n    roundtrip_service: {dist: empirical}\n",
    "a failure without at_s, in an override": "name: c\nbase: peak.yaml\nfailures: [{name: x, component: all}]\n",
    "mix not a mapping": GOOD + "  mix: [1]\n",
    "unknown field in an override": "name: c\nbase: peak.yaml\nsimulation: {duraton_s: 5}\n",
}


def test_every_shipped_scenario_passes_the_schema():
    for file in sorted((ROOT / "scenarios").glob("*.yaml")):
        data, _ = parse_yaml(file.read_text(), file)
        errors = [e.message for e in VALIDATOR.iter_errors(data)]
        assert not errors, (file.name, errors)


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_refused_by_both(tmp_path, capsys, case):
    text = BAD[case]
    (tmp_path / "peak.yaml").write_text((ROOT / "scenarios" / "peak.yaml").read_text())
    file = tmp_path / "bad.yaml"
    file.write_text(text)
    assert simulate.main(["validate", str(file)]) == 2, case
    capsys.readouterr()
    data, _ = parse_yaml(text, file)
    assert list(VALIDATOR.iter_errors(data)), f"the schema passes a file the tool refuses: {case}"


def test_an_override_needs_only_its_name():
    assert not list(VALIDATOR.iter_errors({"name": "x", "base": "peak.yaml",
                                           "workload": {"mix": {"login": 1.0}}}))
