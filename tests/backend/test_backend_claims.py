"""Claim verdicts computed from synthetic calibrations; thresholds come from data/claims/doc-capacity.yaml."""
import yaml

from redis_backend import claims


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
