"""Real Sentinel failovers with short settings (down-after 1000 ms, failover-timeout 3000 ms),
beside the simulator's model of the same configuration (sim/engines/mechanisms/sentinel.py).

The crash's timeline, derived from src/sentinel.c (the model's docstring): the crash closes
the master's sockets, each Sentinel reconnects at its next timer tick and the PING it sends
then starts its clock: +sdown at down-after + 0-0.2 s; +odown a tick after the second
Sentinel's +sdown; the leader sees the promotion in the INFO it sends a second after +odown
(with down-after 1 s, the 10 s INFO that would start the crash's 1 s polling earlier almost
never falls before +odown), and the others announce +switch-master a tick later (~2.2 s here).
The lab writes for 1 s before the kill (`--warmup-s 1`: the production-like 10-20 s would cost
the suite 15 s for nothing at this down-after). One trial beside 10 simulated replications:
no figure may come out "differs" (lab_sim: the gap's 95% interval wholly outside ±5%, at least
±100 ms); "agrees" or "uncertain" are both honest answers from one trial.
"""
import json
import re
import socket
from pathlib import Path

from redis_backend.cli import main
from redis_backend.lab import run_sentinel_lab

REPO = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def fast_scenario(directory: Path) -> Path:
    """The failure matrix's settings (its redis-master failure is a crash), made fast."""
    path = directory / "lab-fast.yaml"
    path.write_text(f"name: lab-fast\nbase: {REPO}/scenarios/failure-matrix.yaml\n"
                    "mechanisms:\n  sentinel: {down_after_ms: 1000, failover_timeout_ms: 3000}\n")
    return path


def test_crash_failover_agrees_with_the_simulation(sentinel_binaries, tmp_path, capsys):
    out = tmp_path / "lab"
    assert main(["lab", "sentinel", str(fast_scenario(tmp_path)), "--write-rate", "200",
                 "--warmup-s", "1", "--out", str(out)]) == 0
    result = json.loads((out / "lab.json").read_text())
    s, m = result["settings"], result["summary"]
    # the settings came from the scenario (and its base), the write rate from the flag
    assert (s["down_after_ms"], s["failover_timeout_ms"], s["quorum"], s["kill"]) == \
        (1000, 3000, 2, "crash")
    assert (s["replicas"], s["sentinels"], s["write_rate_per_s"]) == (2, 3, 200)
    assert m["failover_happened"] and m["sdown_ms"] <= m["odown_ms"] < m["switch_master_ms"]
    new_master = result["switch_master"][0].split()
    assert new_master[2] == str(result["topology"]["master_port"])
    assert int(new_master[4]) in result["topology"]["replica_ports"]
    # a crash refuses connections (no timeouts); writes resume on the new master
    assert "ConnectionError" in m["writes_failed_by_error"]
    assert "TimeoutError" not in m["writes_failed_by_error"]
    assert m["writes_acknowledged_after_switch"] > 0
    assert 0 <= m["acknowledged_writes_lost"] <= m["writes_acknowledged"]
    rows = {r["key"]: r for r in result["comparison"]}
    assert set(rows) == {"sdown_ms", "odown_ms", "switch_master_ms", "client_downtime_ms",
                         "acknowledged_writes_lost"}
    verdicts = {r["verdict"] for r in rows.values()}
    assert verdicts <= {"agrees", "uncertain"}, (out / "lab.md").read_text()
    for r in rows.values():  # the interval is around the gap, and narrower than the claim
        assert r["gap_ci95"][0] <= r["gap"] <= r["gap_ci95"][1]
    assert rows["sdown_ms"]["allowed"] == 100.0 and rows["acknowledged_writes_lost"]["allowed"] == 2
    assert result["measured"]["switch_master_ms"] == {"mean": m["switch_master_ms"], "sd": None,
                                                      "trials": 1}
    assert result["simulated"]["summary"]["switch_master_ms"]["replications"] == 10
    assert "| +switch-master |" in re.sub(" +", " ", (out / "lab.md").read_text())
    t = result["topology"]
    for port in [t["master_port"], *t["replica_ports"], *t["sentinel_ports"]]:
        assert not listening(port), f"port {port} still served after the lab"


def test_hang_times_the_clients_out_then_fails_over(sentinel_binaries, tmp_path):
    """A hung (SIGSTOPped) master keeps its sockets open: the client's writes time out (its
    0.1 s socket timeout) instead of being refused, and the Sentinels still fail over."""
    result = run_sentinel_lab({"down_after_ms": 1000, "failover_timeout_ms": 3000,
                               "kill": "hang", "write_rate_per_s": 200, "warmup_s": 1},
                              tmp_path)
    m = result["summary"]
    assert "TimeoutError" in m["writes_failed_by_error"]
    # each timed-out write held the client 0.1 s: the ~20 writes due meanwhile failed too
    by_error = m["writes_failed_by_error"]
    assert by_error["Blocked"] >= 10 * by_error["TimeoutError"]
    assert m["writes_failed"] == sum(by_error.values())
    assert "ConnectionError" not in m["writes_failed_by_error"]
    assert m["failover_happened"] and m["sdown_ms"] <= m["odown_ms"] < m["switch_master_ms"]
    assert m["writes_acknowledged_after_switch"] > 0
    assert json.loads((tmp_path / "lab.json").read_text())["summary"] == m


def test_lab_refuses_to_overwrite_its_output(tmp_path, capsys):
    (tmp_path / "lab.json").write_text("{}")
    assert main(["lab", "sentinel", "--out", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "lab.json").read_text() == "{}"


def test_lab_refuses_a_scenario_without_sentinels(tmp_path, capsys):
    code = main(["lab", "sentinel", str(REPO / "scenarios" / "redis-single.yaml"),
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "no Sentinels" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "lab.json").exists()
