"""calibrate on a real Redis (and PostgreSQL): the calibration.json shape the lead's loader reads."""
import datetime as dt
import json
import re

import psycopg
import pytest

from redis_backend import calibrate
from redis_backend.cli import main
from redis_backend.postgres import SCHEMA

COMMANDS = {"login": 4, "session_update": 4, "item_view": 5, "cart_update": 4, "read_only": 1}
LATENCY_KEYS = ["mean", "p50", "p95", "p99", "p999"]


def check_by_concurrency(by_c: dict) -> None:
    assert sorted(by_c) == ["1", "4"]
    for figures in by_c.values():
        assert figures["throughput_ops_s"] > 0
        lat = figures["latency_ms"]
        assert sorted(lat) == sorted(LATENCY_KEYS)
        assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["p999"]


def check_service_time(service: dict) -> None:
    assert service["mean"] > 0
    assert 1 <= len(service["samples"]) <= 2000
    assert all(x > 0 for x in service["samples"])
    # samples are rescaled so that their mean is the saturation-derived mean
    assert sum(service["samples"]) / len(service["samples"]) == pytest.approx(service["mean"],
                                                                               rel=0.02)


def test_calibration_json_has_documented_shape(redis_url, tmp_path, fast_args, capsys):
    out = tmp_path / "cal"
    assert main(["calibrate", "--redis", redis_url, "--out", str(out), *fast_args]) == 0
    cal = json.loads((out / "calibration.json").read_text())
    assert cal["format"] == "sessionsim-calibration/1"
    assert cal["tool_version"]
    assert dt.datetime.fromisoformat(cal["measured_at"]).tzinfo is not None
    assert {"python", "cpu"} <= set(cal["host"])
    assert cal["postgres"] is None
    r = cal["redis"]
    assert r["target"] == redis_url and r["server_version"].count(".") == 2
    assert set(r["operations"]) == set(COMMANDS)
    for name, entry in r["operations"].items():
        assert entry["commands"] == COMMANDS[name]
        for mode in ("pipelined", "unpipelined"):
            check_by_concurrency(entry[mode]["by_concurrency"])
            cpu = entry[mode]["client_cpu_ms"]
            assert cpu["mean"] > 0 and all(x >= 0 for x in cpu["samples"])
            assert entry[mode]["by_concurrency"]["1"]["server_cpu_per_op_ms"] >= 0
        check_service_time(entry["service_time_ms"])
    assert 0 < r["ping_rtt_ms"]["min"] <= r["ping_rtt_ms"]["p50"]
    assert {"wire", "client_cpu"} <= set(r["ping_rtt_ms"])
    assert set(r["open_loop_penalty_ms"]) == {"250", "1000"}
    for probe in r["open_loop_penalty_ms"].values():
        assert len(probe["samples"]) >= 300 and min(probe["samples"]) >= 0
    # the simulator's parameters, fitted: what a scenario references (redis_backend/fit.py)
    for fit, concurrency in (("high_concurrency", 4), ("low_concurrency", 1)):
        model = r["model"][fit]
        assert model["concurrency"] == concurrency
        assert model["roundtrip_service_ms"]["mean"] >= 0 and model["command_service_ms"]["mean"] >= 0
        assert model["roundtrip_service_ms"]["mean"] + model["command_service_ms"]["mean"] > 0
        assert set(model["fit"]) == set(COMMANDS)
        for key in ("roundtrip_service_ms", "command_service_ms", "app_redis_rtt_ms"):
            assert model[key]["samples"] and min(model[key]["samples"]) >= 0
        for key in ("roundtrip_service_ms", "command_service_ms"):  # refitted per round
            assert len(model[key]["rounds"]["values"]) == 2 and model[key]["rounds"]["ci95"]
    mem = r["memory"]
    assert mem["sessions_measured"] == 2000
    # a session costs at least its own field bytes, and far less than a kilobyte
    assert mem["session_payload_bytes"] < mem["bytes_per_session"] < 1000
    assert 0 < mem["bytes_per_cart"] < 1000
    header = "| claim | document says | measured [95% interval] | verdict |"
    claims_md = (out / "claims.md").read_text()
    assert header in re.sub(" +", " ", claims_md)
    assert header in re.sub(" +", " ", capsys.readouterr().out)
    # every load figure measured in each round, with its interval; the host's noise recorded
    assert cal["settings"]["rounds"] == 2
    figures = r["operations"]["session_update"]["pipelined"]["by_concurrency"]["1"]["rounds"]
    for figure in figures.values():
        assert len(figure["values"]) == 2
        assert figure["ci95"][0] <= figure["mean"] <= figure["ci95"][1]
    assert len(r["operations"]["item_view"]["rounds"]["service_time_ms"]["values"]) == 2
    assert [p["when"] for p in cal["host_noise"]] == [f"before round {k}" for k in range(1, 3)] \
        + ["after the last round"]
    # the server's capacity by a C client that saturates it (redis-benchmark, with Redis)
    capacity = r["capacity"]
    assert capacity["measured_by"] == ["redis-benchmark"] and capacity["commands_s"] > 0
    assert len(capacity["rounds"]["commands_s"]["values"]) == 2
    for probe in cal["host_noise"]:
        assert probe["sleep_late_ms"]["p99"] >= 0 and probe["fsyncs_per_s"] > 0


def test_existing_output_is_not_overwritten(redis_url, tmp_path, capsys):
    out = tmp_path / "cal"
    out.mkdir()
    (out / "calibration.json").write_text("{\"keep\": 1}")
    assert main(["calibrate", "--redis", redis_url, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and len(err.strip().splitlines()) == 1
    assert json.loads((out / "calibration.json").read_text()) == {"keep": 1}


def test_postgres_schema_is_created_measured_and_dropped(redis_url, postgres_server, tmp_path):
    seen_schema = []

    def on_step(step: str) -> None:
        if step.startswith("postgres"):
            seen_schema.append(schema_exists(postgres_server.url))

    cal = calibrate.run_calibration(redis_url, postgres_server.url, [1, 4], 0.3,
                                    memory_sessions=1000, out_dir=tmp_path, on_step=on_step,
                                    n_rounds=2)
    assert seen_schema and all(seen_schema), "schema should exist while measuring"
    assert not schema_exists(postgres_server.url), "schema should be dropped afterwards"
    pg = cal["postgres"]
    assert pg["server_version"].startswith("15")
    assert set(pg["operations"]) == {"session_write_sync", "session_write_async"}
    for entry in pg["operations"].values():
        check_by_concurrency(entry["unpipelined"]["by_concurrency"])
        check_service_time(entry["service_time_ms"])
        # capacity from pgbench (installed with PostgreSQL) when it beat the Python client;
        # effective_servers never above the clients that reached that capacity
        assert entry["pgbench_tps"]["mean"] > 0 and len(entry["pgbench_tps"]["values"]) == 2
        assert set(entry["capacity_measured_by"]) <= {"pgbench", "python client"}
        assert 0 < entry["effective_servers"] <= entry["effective_servers_bound"]
        eff = entry["rounds"]["effective_servers"]
        assert max(eff["values"] + eff["ci95"]) <= entry["effective_servers_bound"]
    assert pg["operations"]["session_write_sync"]["synchronous_commit"] == "on"
    assert pg["operations"]["session_write_async"]["synchronous_commit"] == "off"
    assert pg["bytes_per_row"] > 50


def schema_exists(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                            (SCHEMA,)).fetchone() is not None
