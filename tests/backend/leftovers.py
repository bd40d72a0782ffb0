"""Helpers for the tests that terminate a command mid-run: our keys, foreign keys, a command
run as a real subprocess (so that a real signal reaches it)."""
import os
import subprocess
import sys
import time
from pathlib import Path

from redis_backend import keys

REPO = Path(__file__).resolve().parents[2]


def ours(client) -> list[str]:
    return list(client.scan_iter(match=f"{keys.PREFIX_ROOT}:*"))


def foreign(client) -> None:
    client.set("customer:42", "precious", ex=10_000)
    client.hset("cart:7", mapping={"item": "x"})  # no TTL: must stay without one


def foreign_intact(client) -> bool:
    return (client.get("customer:42") == "precious" and client.ttl("customer:42") > 9_000
            and client.hgetall("cart:7") == {"item": "x"} and client.ttl("cart:7") == -1)


def start(args: list[str], **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "simulate.py"), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env})


def wait_for_line(proc: subprocess.Popen, marker: str, timeout_s: float = 60) -> list[str]:
    """stderr lines up to and including the first that contains marker."""
    seen, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return seen
    proc.kill()
    raise AssertionError(f"never saw {marker!r}: {''.join(seen)}")


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err
