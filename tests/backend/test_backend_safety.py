"""Safety of calibrate against a real Redis: foreign keys survive, ours are gone, no FLUSH*."""
import json

import pytest
import redis

from redis_backend import calibrate, keys, measure, servers
from redis_backend.cli import main


def our_keys(client) -> list[str]:
    return list(client.scan_iter(match=f"{keys.PREFIX_ROOT}:*"))


def flush_calls(client) -> list[str]:
    stats = client.info("commandstats")
    return [name for name in stats if name in ("cmdstat_flushdb", "cmdstat_flushall")]


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1 and "Traceback" not in text


def test_non_empty_db_refused_then_forced_run_keeps_foreign_keys(
        redis_url, redis_client, tmp_path, fast_args, capsys):
    redis_client.set("customer:42", "precious")
    redis_client.expire("customer:42", 10_000)
    code = main(["calibrate", "--redis", redis_url, "--out", str(tmp_path), *fast_args])
    err = capsys.readouterr().err
    assert code == 2
    assert one_line(err) and "not empty" in err and "--force" in err
    assert redis_client.dbsize() == 1

    code = main(["calibrate", "--redis", redis_url, "--out", str(tmp_path), "--force",
                 *fast_args])
    assert code == 0
    assert redis_client.get("customer:42") == "precious"
    assert redis_client.ttl("customer:42") > 9_000
    assert our_keys(redis_client) == []
    assert redis_client.dbsize() == 1
    assert flush_calls(redis_client) == []
    prefix = json.loads((tmp_path / "calibration.json").read_text())["redis"]["key_prefix"]
    assert prefix.startswith(keys.PREFIX_ROOT + ":")
    # our keys really were written (and deleted): HSET/ZADD appear in the server's stats
    assert "cmdstat_hset" in redis_client.info("commandstats")


def test_ctrl_c_mid_run_cleans_up(redis_url, redis_client, tmp_path, fast_args,
                                  monkeypatch, capsys):
    real_run_load = measure.run_load
    calls, keys_at_interrupt = [], []

    def interrupted_run_load(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # ping, then three workload runs
            keys_at_interrupt.append(len(our_keys(redis_client)))
            raise KeyboardInterrupt
        return real_run_load(*args, **kwargs)

    monkeypatch.setattr(measure, "run_load", interrupted_run_load)
    code = main(["calibrate", "--redis", redis_url, "--out", str(tmp_path), *fast_args])
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert keys_at_interrupt and keys_at_interrupt[0] > 0, "keys existed when interrupted"
    assert our_keys(redis_client) == []
    assert redis_client.dbsize() == 0
    assert not (tmp_path / "calibration.json").exists()


def test_ctrl_c_inside_a_worker_loop_cleans_up(redis_url, redis_client, tmp_path):
    def on_step(step: str) -> None:
        if step.startswith("redis item_view pipelined c=1"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        calibrate.run_calibration(redis_url, None, [1], 0.2, memory_sessions=500,
                                  out_dir=tmp_path, on_step=on_step)
    assert our_keys(redis_client) == []


def test_unreachable_server_is_one_line_exit_2(capsys):
    port = servers.free_port()  # nothing listens there
    assert main(["calibrate", "--redis", f"redis://127.0.0.1:{port}/0"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "cannot reach Redis" in err and str(port) in err


@pytest.mark.parametrize("argv, expected", [
    (["calibrate", "--redis", "http://127.0.0.1:1/0"], "expected redis://"),
    (["calibrate", "--redis", "redis://127.0.0.1:1/abc"], "is not a number"),
    (["calibrate", "--redis", "redis://127.0.0.1:1/0", "--concurrency", "1,x"], "1,4,16"),
    (["calibrate", "--redis", "redis://127.0.0.1:1/0", "--duration-s", "-1"], "positive"),
    (["calibrate"], "--redis"),
    (["lab", "sentinel", "--kill", "explode"], "crash"),
    (["lab", "sentinel", "--quorum", "4"], "quorum"),
])
def test_bad_input_is_one_line_exit_2(argv, expected, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert one_line(err) and expected in err


def test_password_is_masked_everywhere(redis_with_password, tmp_path, fast_args, capfd):
    server, password = redis_with_password, redis_with_password.password
    good = f"redis://:{password}@127.0.0.1:{server.port}/15"
    bad = f"redis://:wrong-{password}@127.0.0.1:{server.port}/15"
    out = tmp_path / "cal"
    assert main(["calibrate", "--redis", good, "--out", str(out), *fast_args]) == 0
    assert main(["calibrate", "--redis", bad, "--out", str(tmp_path / "x")]) == 2
    printed = capfd.readouterr()
    everything = printed.out + printed.err + "".join(p.read_text() for p in out.iterdir())
    assert password not in everything
    assert f"redis://:***@127.0.0.1:{server.port}/15" in everything
    # redis-benchmark would take the password on its command line: Python processes instead
    capacity = json.loads((out / "calibration.json").read_text())["redis"]["capacity"]
    assert "password" in capacity["redis_benchmark_not_used"]
    assert capacity["measured_by"] == ["4 Python processes"] and capacity["commands_s"] > 0
    assert one_line(printed.err.strip().splitlines()[-1])
    client = redis.Redis(port=server.port, db=15, password=password)
    assert our_keys(client) == []
    client.close()
