"""A real Sentinel crash failover, fast settings (down-after 1000 ms, failover-timeout 3000 ms).

Detection window, derived: each Sentinel PINGs the master every min(1 s, down-after) = 1 s.
After a crash the socket closes at once; the Sentinel reconnects on its next 100 ms timer
tick and the PING it sends then is never answered, so +sdown fires when that PING is older
than down-after: at down-after + 0-0.2 s (no earlier than down-after, since the clock starts
after the kill). +odown needs quorum 2: the Sentinel asks its peers about once a second, so
it follows +sdown by up to ~1 s (the peers are already sdown themselves). Add scheduling noise
on a 2-core machine and the window for both is [down-after, down-after + 2.5 s].
"""
import json
import socket

from redis_backend.cli import main
from redis_backend.lab import run_sentinel_lab

DOWN_AFTER_MS = 1000
WINDOW_MS = 2500


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_crash_failover_is_detected_switched_and_measured(sentinel_binaries, tmp_path):
    result = run_sentinel_lab({"down_after_ms": DOWN_AFTER_MS, "failover_timeout_ms": 3000,
                               "kill": "crash", "write_rate_per_s": 200}, tmp_path)
    m = result["summary"]
    assert DOWN_AFTER_MS <= m["sdown_ms"] <= DOWN_AFTER_MS + WINDOW_MS
    assert m["sdown_ms"] <= m["odown_ms"] <= DOWN_AFTER_MS + WINDOW_MS
    assert m["failover_happened"] and m["odown_ms"] < m["switch_master_ms"]
    new_master = result["switch_master"][0].split()
    assert new_master[2] == str(result["topology"]["master_port"])
    assert int(new_master[4]) in result["topology"]["replica_ports"]
    # writes resumed on the new master; none can be acknowledged while no master exists
    assert m["writes_acknowledged_after_switch"] > 0
    assert m["first_write_after_kill_ms"] >= m["sdown_ms"]
    assert m["client_downtime_ms"] >= DOWN_AFTER_MS
    assert 0 <= m["acknowledged_writes_lost"] <= m["writes_acknowledged"]
    assert json.loads((tmp_path / "lab.json").read_text())["summary"] == m
    t = result["topology"]
    for port in [t["master_port"], *t["replica_ports"], *t["sentinel_ports"]]:
        assert not listening(port), f"port {port} still served after the lab"


def test_lab_refuses_to_overwrite_its_output(tmp_path, capsys):
    (tmp_path / "lab.json").write_text("{}")
    assert main(["lab", "sentinel", "--out", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "lab.json").read_text() == "{}"
