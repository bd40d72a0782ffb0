"""Every way a scenario can be wrong: one line naming file, line, field and what was expected; exit 2."""
import json
import textwrap


import simulate
from tests.helpers import TINY

GOOD = TINY


def check(tmp_path, capsys, text: str, *expected: str, args=("validate",), name="bad.yaml"):
    file = tmp_path / name
    file.write_text(text)
    status = simulate.main([*args, str(file)] if args else [str(file)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    for part in expected:
        assert part in err, f"{part!r} not in {err!r}"
    return err


def test_good_scenario_validates(tmp_path, capsys):
    (tmp_path / "ok.yaml").write_text(GOOD)
    assert simulate.main(["validate", str(tmp_path / "ok.yaml")]) == 0
    assert "valid" in capsys.readouterr().out


def test_unknown_field_lists_the_expected_ones(tmp_path, capsys):
    text = GOOD + "topology:\n  app_servers:\n    cors: 4\n"
    check(tmp_path, capsys, text, "bad.yaml:9:", "topology.app_servers.cors", "unknown field 'cors'",
          "cores")


def test_wrong_type(tmp_path, capsys):
    check(tmp_path, capsys, GOOD.replace("rate_rps: 100", "rate_rps: lots"),
          "bad.yaml:6:", "workload.arrivals.rate_rps", "valid number", "'lots'")


def test_out_of_range(tmp_path, capsys):
    text = GOOD + "topology:\n  app_servers: {count: 4, workers: -3}\n"
    check(tmp_path, capsys, text, "bad.yaml:8:", "topology.app_servers.workers", "greater than 0")


def test_replication_lag_within_the_acknowledgements_kept(tmp_path, capsys):
    """The engines keep 60 s of acknowledged writes to count those a failover loses."""
    from sim.engines.replication import KEEP_S
    from sim.model.schema_failures import MAX_LAG_MS
    assert 2 * MAX_LAG_MS / 1000 <= KEEP_S
    text = GOOD + "mechanisms:\n  replication: {lag_ms: 90000}\n"
    check(tmp_path, capsys, text, "bad.yaml:8:", "mechanisms.replication.lag_ms", "30000")


def test_replication_lag_alert_within_the_commits_kept(tmp_path, capsys):
    text = GOOD + ("mechanisms:\n  alerts:\n    rules:\n      Lag: {target: pg_any, for_s: 60, "
                   "metric: pg_replication_lag_s, above: 120}\n")
    check(tmp_path, capsys, text, "bad.yaml:", "mechanisms.alerts.rules.Lag.above", "0 to 30 s")


def test_missing_required_field(tmp_path, capsys):
    check(tmp_path, capsys, GOOD.replace("architecture: redis_ha\n", ""), "architecture",
          "required field is missing")


def test_bad_choice(tmp_path, capsys):
    check(tmp_path, capsys, GOOD.replace("redis_ha", "redis_cluster"), "bad.yaml:2:", "architecture",
          "'db_fleet', 'redis_single' or 'redis_ha'")


def test_invalid_yaml(tmp_path, capsys):
    check(tmp_path, capsys, GOOD + "  bad: [unclosed\n", "bad.yaml:", "invalid YAML")


def test_not_a_mapping(tmp_path, capsys):
    check(tmp_path, capsys, "- just\n- a list\n", "bad.yaml:1:", "expected a mapping")


def test_missing_file(tmp_path, capsys):
    assert simulate.main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "no such scenario file" in capsys.readouterr().err


def test_mix_must_sum_to_one(tmp_path, capsys):
    text = GOOD + "  mix: {session_update: 0.5, login: 0.2}\n"
    check(tmp_path, capsys, text, "workload", "sum to 1")


def test_mix_names_unknown_operation(tmp_path, capsys):
    text = GOOD + "  mix: {session_update: 0.5, refund: 0.5}\n"
    check(tmp_path, capsys, text, "unknown operations ['refund']", "session_update")


def test_distribution_needs_its_parameters(tmp_path, capsys):
    text = GOOD + "topology:\n  redis:\n    roundtrip_service: {dist: lognormal, mean_ms: 1}\n"
    check(tmp_path, capsys, text, "bad.yaml:9:", "topology.redis.roundtrip_service", "needs 'cv'")


def test_empirical_file_must_exist(tmp_path, capsys):
    text = GOOD + "topology:\n  redis:\n    roundtrip_service: {dist: empirical, file: nope.txt}\n"
    check(tmp_path, capsys, text, "bad.yaml:9:", "topology.redis.roundtrip_service", "nope.txt")


def test_empirical_samples_load(tmp_path, capsys):
    (tmp_path / "s.txt").write_text("0.01\n0.02\n0.03\n")
    (tmp_path / "ok.yaml").write_text(
        GOOD + "topology:\n  redis:\n    roundtrip_service: {dist: empirical, file: s.txt}\n")
    assert simulate.main(["validate", str(tmp_path / "ok.yaml")]) == 0


def test_architecture_needs_its_nodes(tmp_path, capsys):
    text = GOOD.replace("redis_ha", "db_fleet") + "topology: {db_fleet: null}\n"
    check(tmp_path, capsys, text, "needs topology.db_fleet")


def test_redis_single_has_no_replicas(tmp_path, capsys):
    text = GOOD.replace("redis_ha", "redis_single") + "topology: {redis: {replicas: 2}}\n"
    check(tmp_path, capsys, text, "redis_single has no replicas")


def test_warmup_shorter_than_duration(tmp_path, capsys):
    check(tmp_path, capsys, GOOD + "simulation: {duration_s: 10, warmup_s: 10}\n", "simulation",
          "warmup_s (", "must be shorter than duration_s")


def test_unknown_price_kind(tmp_path, capsys):
    check(tmp_path, capsys, GOOD + "cost:\n  overrides_usd_per_month: {gpu: 5}\n",
          "bad.yaml:8:", "cost.overrides_usd_per_month", "unknown node kind", "app_server")


def test_missing_price_file(tmp_path, capsys):
    check(tmp_path, capsys, GOOD + "cost: {prices: nowhere}\n", "nowhere.yaml", "no such price file",
          "doc-ha")


def test_error_in_a_base_file_names_the_base(tmp_path, capsys):
    (tmp_path / "base.yaml").write_text(GOOD.replace("rate_rps: 100", "rate_rps: -1"))
    check(tmp_path, capsys, "name: child\nbase: base.yaml\n", "base.yaml:6:", "rate_rps")


def test_a_base_merges_field_by_field_until_a_mapping_changes_its_type(tmp_path):
    """Overriding a field keeps the base's others; switching a distribution's `dist` or the
    arrivals' `kind` replaces the mapping, so no stale parameter of the old type survives."""
    from sim.model.scenario import load
    (tmp_path / "base.yaml").write_text(GOOD + "topology:\n  postgres:\n"
                                        "    write_service: {dist: lognormal, mean_ms: 10, cv: 0.5}\n")
    (tmp_path / "samples.txt").write_text("1.0\n2.0\n")
    (tmp_path / "child.yaml").write_text(textwrap.dedent("""\
        name: child
        base: base.yaml
        workload:
          arrivals: {kind: piecewise, points: [{at_s: 0, rate_rps: 10}, {at_s: 60, rate_rps: 20}]}
        topology:
          postgres:
            connections: 4
            write_service: {dist: empirical, file: samples.txt}
        """))
    s = load(tmp_path / "child.yaml")
    assert s.topology.postgres.connections == 4
    assert (s.topology.postgres.write_service.mean_ms, s.topology.postgres.write_service.cv) == (None, None)
    assert s.workload.arrivals.rate_rps is None and s.workload.arrivals.kind == "piecewise"
    (tmp_path / "same.yaml").write_text("name: same\nbase: base.yaml\ntopology:\n  postgres:\n"
                                        "    write_service: {dist: lognormal, cv: 1.0}\n")
    kept = load(tmp_path / "same.yaml").topology.postgres.write_service
    assert (kept.mean_ms, kept.cv) == (10, 1.0)


def test_base_cycle(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("name: a\nbase: bad.yaml\n")
    check(tmp_path, capsys, "name: b\nbase: a.yaml\n", "cycle")


def test_command_line_override_checked(tmp_path, capsys):
    file = tmp_path / "ok.yaml"
    file.write_text(GOOD)
    assert simulate.main([str(file), "--duration", "5"]) == 2  # default warm-up is 10 s
    err = capsys.readouterr().err
    assert err.startswith("error: command line: simulation") and "warmup_s" in err


def test_unknown_option(capsys):
    assert simulate.main(["scenarios/peak.yaml", "--sede", "3"]) == 2
    assert "unrecognized arguments: --sede" in capsys.readouterr().err


def test_every_shipped_scenario_validates(capsys):
    from pathlib import Path
    for file in sorted(Path("scenarios").glob("*.yaml")):
        assert simulate.main(["validate", str(file)]) == 0, file


def test_exported_schema_is_current():
    """scenarios/schema.json is what editors use: it must match the format the loader enforces."""
    from pathlib import Path
    from sim.model.scenario import json_schema
    assert json.loads(Path("scenarios/schema.json").read_text()) == json_schema()
