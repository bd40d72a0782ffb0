"""Claim verdicts computed from synthetic calibrations; thresholds come from data/claims/doc-capacity.yaml."""
import json

import yaml

from redis_backend import claims
from redis_backend.cli import main


def latency(p99: float) -> dict:
    return {"mean": p99 / 2, "p50": p99 / 2, "p95": p99 * 0.8, "p99": p99, "p999": p99 * 2}


def synthetic(fast: bool) -> dict:
    scale = 1.0 if fast else 0.1

    def op(commands: int, piped: float, single: float, service_ms: float) -> dict:
        return {"commands": commands,
                "pipelined": {"by_concurrency": {
                    "1": {"throughput_ops_s": piped * scale, "latency_ms": latency(0.4 / scale)},
                    "16": {"throughput_ops_s": piped * scale * 2,
                           "latency_ms": latency(0.9 / scale)}}},
                "unpipelined": {"by_concurrency": {
                    "1": {"throughput_ops_s": single, "latency_ms": latency(1.5 / scale)}}},
                "service_time_ms": {"mean": service_ms / scale, "samples": [service_ms / scale]}}

    pg_by_c = {"1": {"throughput_ops_s": 50 if fast else 5000,
                     "latency_ms": {"mean": 20.0 if fast else 0.4}},
               "8": {"throughput_ops_s": 800 if fast else 9000,
                     "latency_ms": {"mean": 30.0 if fast else 0.9}}}
    return {"redis": {"operations": {
                "session_update": op(4, 16_000, 4_000, 0.02),
                "item_view": op(5, 12_000, 3_000, 0.04)},
                "memory": {"bytes_per_session": 180 if fast else 350}},
            "postgres": {"bytes_per_row": 400 if fast else 900, "operations": {
                "session_write_sync": {"unpipelined": {"by_concurrency": pg_by_c}}}}}


def verdicts(rows: list[dict]) -> dict:
    return {r["claim"]: r["verdict"] for r in rows}


def test_every_claim_holds_on_a_calibration_that_meets_it():
    rows = claims.evaluate(synthetic(fast=True))
    assert set(verdicts(rows).values()) == {"holds"}, rows
    by_name = {r["claim"]: r for r in rows}
    # max commands/s: session_update pipelined at c=16: 32,000 ops/s x 4 commands
    assert by_name["redis_100k_ops_measured"]["measured"] == 128_000
    assert by_name["pipelining_3_to_5x"]["measured"] == 4.0


def test_every_claim_fails_on_a_calibration_that_misses_it():
    rows = claims.evaluate(synthetic(fast=False))
    assert set(verdicts(rows).values()) == {"fails"}, rows


def test_missing_postgres_is_not_measured():
    cal = synthetic(fast=True)
    cal["postgres"] = None
    v = verdicts(claims.evaluate(cal))
    assert v["db_writes_per_second"] == "not measured"
    assert v["redis_200_bytes_per_session"] == "holds"


def test_thresholds_come_from_the_data_file(tmp_path):
    data = yaml.safe_load(claims.CLAIMS_FILE.read_text())
    assert data["redis_100k_ops_measured"]["value"] == 100_000
    data["redis_100k_ops_measured"]["value"] = 500_000
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(data))
    v = verdicts(claims.evaluate(synthetic(fast=True), path))
    assert v["redis_100k_ops_measured"] == "fails"


def test_markdown_table_lists_every_claim():
    rows = claims.evaluate(synthetic(fast=True))
    table = claims.to_markdown(rows)
    verdicts = [line.rsplit("|", 2)[1].strip() for line in table.splitlines()[2:]]
    assert verdicts == ["holds"] * len(rows)
    assert "128,000 commands/s" in table


def with_rounds(cal: dict, session_p99_ms: list[float]) -> dict:
    """`cal` measured in len(session_p99_ms) rounds, only session_update's p99 (one client)
    moving between them."""
    cal = json.loads(json.dumps(cal))
    cal["settings"] = {"rounds": len(session_p99_ms)}
    cal["host_noise"] = [{"sleep_late_ms": {"p99": 4.0}, "cpu_steal_pct": 3.0,
                          "run_queue_per_core": 2.5, "fsyncs_per_s": 300.0}]
    for entry in cal["redis"]["operations"].values():
        for mode in ("pipelined", "unpipelined"):
            for c, figures in entry[mode]["by_concurrency"].items():
                moving = entry is cal["redis"]["operations"]["session_update"] \
                    and mode == "pipelined" and c == "1"
                p99 = (session_p99_ms if moving
                       else [figures["latency_ms"]["p99"]] * len(session_p99_ms))
                figures["rounds"] = {
                    "throughput_ops_s": {"values": [figures["throughput_ops_s"]] * len(p99)},
                    "mean_ms": {"values": [figures["latency_ms"]["mean"]] * len(p99)},
                    "p99_ms": {"values": p99}}
    return cal


def test_a_verdict_needs_the_whole_interval_and_names_the_noise_otherwise():
    """< 1 ms p99 with one client: rounds at 0.4-0.6 ms hold; rounds straddling 1 ms (0.5 to
    1.6) leave the interval on both sides: uncertain, with the host's noise; rounds all well
    above fail."""
    def judged(p99s):
        rows = claims.evaluate(with_rounds(synthetic(fast=True), p99s))
        return next(r for r in rows if r["claim"] == "redis_under_1ms_c1")

    assert judged([0.4, 0.5, 0.6, 0.5])["verdict"] == "holds"
    row = judged([0.5, 1.6, 0.7, 1.4])
    assert row["verdict"] == "uncertain" and row["ci95"][0] < 1.0 < row["ci95"][1]
    assert "CPU steal 3.0%" in row["noise"] and "run queue 2.50 per core" in row["noise"]
    assert "uncertain (noise below)" in claims.to_markdown([row])
    assert judged([2.0, 2.2, 2.1, 2.3])["verdict"] == "fails"


def test_two_identical_calibrations_never_give_opposite_verdicts(calibrated, tmp_path):
    """The same command, twice, on the same server (the session's calibration is the first)."""
    from tests.backend.conftest import CALIBRATE_ARGS
    server, url, first = calibrated
    assert main(["calibrate", "--redis", url, "--out", str(tmp_path), *CALIBRATE_ARGS]) == 0
    runs = [claims.evaluate(json.loads(path.read_text()))
            for path in (first, tmp_path / "calibration.json")]
    opposite = [(a["claim"], a["verdict"], b["verdict"], a["ci95"], b["ci95"])
                for a, b in zip(*runs) if {a["verdict"], b["verdict"]} == {"holds", "fails"}]
    assert not opposite
