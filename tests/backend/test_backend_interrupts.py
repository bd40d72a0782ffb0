"""Nothing left behind: each command terminated mid-run (a real subprocess, a real signal)
leaves no keys, servers or directories, and every foreign key keeps its value and its TTL; a
second signal never cuts the cleanup short; a SIGKILLed run's keys all expire and
`calibrate --cleanup` removes them; a server that stops answering is reported with what was
left and how to remove it."""
import os
import re
import signal
import time
from pathlib import Path

from redis_backend import keys, measure, target
from redis_backend.cli import main
from tests.backend.leftovers import finish, foreign, foreign_intact, ours, start, wait_for_line

FAST = ["--duration-s", "0.3", "--concurrency", "1,4", "--memory-sessions", "500",
        "--rounds", "2"]


def test_sigterm_mid_calibrate_leaves_nothing(redis_url, redis_client, tmp_path):
    foreign(redis_client)
    proc = start(["calibrate", "--redis", redis_url, "--out", str(tmp_path), "--force", *FAST])
    wait_for_line(proc, "measuring redis session_update pipelined")
    assert ours(redis_client), "our keys exist when the signal is sent"
    proc.send_signal(signal.SIGTERM)
    code, err = finish(proc)
    assert code == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in err and "deleted our" in err, err
    assert ours(redis_client) == [] and redis_client.dbsize() == 2
    assert foreign_intact(redis_client)
    assert not (tmp_path / "calibration.json").exists()


def test_sigkilled_run_keys_all_expire_and_cleanup_removes_them(redis_url, redis_client,
                                                                tmp_path, capsys):
    foreign(redis_client)
    proc = start(["calibrate", "--redis", redis_url, "--out", str(tmp_path), "--force", *FAST])
    wait_for_line(proc, "measuring redis item_view pipelined")
    proc.kill()
    finish(proc)
    left = ours(redis_client)
    assert len(left) > 1000
    assert all(redis_client.ttl(k) > 0 for k in left), "every key of ours carries a TTL"
    assert main(["calibrate", "--redis", redis_url, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{len(left)} of them are sessionsim's" in err and "--cleanup" in err
    assert main(["calibrate", "--redis", redis_url, "--cleanup"]) == 0
    assert f"deleted {len(left):,} keys under ssim:" in capsys.readouterr().out
    assert ours(redis_client) == [] and foreign_intact(redis_client)


def test_a_second_signal_never_cuts_the_cleanup_short(redis_url, redis_client, tmp_path,
                                                      monkeypatch, capsys):
    real_run_load, real_delete, calls = measure.run_load, keys._delete, []

    def run_load(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_run_load(*args, **kwargs)

    def delete(client, names):  # Ctrl-C during the cleanup's first batch
        os.kill(os.getpid(), signal.SIGINT)
        return real_delete(client, names)

    monkeypatch.setattr(measure, "run_load", run_load)
    monkeypatch.setattr(keys, "_delete", delete)
    assert main(["calibrate", "--redis", redis_url, "--out", str(tmp_path), *FAST]) == 143
    err = capsys.readouterr().err
    assert "interrupted by SIGTERM" in err and "deleted our" in err
    assert "SIGINT received during the cleanup: the cleanup was finished first" in err
    assert ours(redis_client) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


def test_a_server_that_stops_answering_is_reported_with_what_was_left(
        redis_server, redis_url, redis_client, tmp_path, monkeypatch, capsys):
    real_run_load, calls = measure.run_load, []

    def run_load(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            os.kill(redis_server.pid, signal.SIGSTOP)  # a Redis that stalls mid-run
        return real_run_load(*args, **kwargs)

    monkeypatch.setattr(target, "COMMAND_TIMEOUT_S", 0.5)
    monkeypatch.setattr(keys, "CLEANUP_PATIENCE_S", 1.0)
    monkeypatch.setattr(measure, "run_load", run_load)
    try:
        code = main(["calibrate", "--redis", redis_url, "--out", str(tmp_path), *FAST])
    finally:
        os.kill(redis_server.pid, signal.SIGCONT)
    err = capsys.readouterr().err
    error = [line for line in err.splitlines() if line.startswith("error:")]
    assert code in (1, 2) and len(error) == 1 and "Timeout" in error[0], err
    assert "could not delete our keys under ssim:" in err and "keys may remain" in err
    assert f"calibrate --cleanup --redis {redis_url}" in err
    left = ours(redis_client)
    assert left and all(redis_client.ttl(k) > 0 for k in left)
    assert main(["calibrate", "--redis", redis_url, "--cleanup"]) == 0
    assert ours(redis_client) == []


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigterm_mid_lab_stops_every_server_and_removes_its_directory(sentinel_binaries,
                                                                      tmp_path):
    """Terminated while it starts its servers (the master and replicas up, the Sentinels on
    their way): every server it started is stopped, its directory removed."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = start(["lab", "sentinel", "--down-after-ms", "1000", "--failover-timeout-ms", "3000",
                  "--out", str(tmp_path / "lab")], TMPDIR=str(temp))
    deadline, started = time.monotonic() + 60, []
    while len(started) < 4 and time.monotonic() < deadline:  # master, 2 replicas, a Sentinel
        started = children(proc.pid)
        time.sleep(0.05)
    assert len(started) >= 4, started
    assert list(temp.glob("sessionsim-lab-*"))
    proc.send_signal(signal.SIGTERM)
    code, err = finish(proc)
    assert code == 143, err
    stopped = re.search(r"stopped our (\d+) servers", err)
    assert stopped and int(stopped.group(1)) >= 4, err
    assert not [pid for pid in started + children(proc.pid) if alive(pid)]
    assert list(temp.iterdir()) == []
    assert not (tmp_path / "lab" / "lab.json").exists()
