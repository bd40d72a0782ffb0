"""Redis's capacity measured by redis-benchmark when it is installed: a C client with CLIENTS
connections pipelining PIPELINE commands saturates the server, which our Python client cannot
(the issue saw it top out near 9k operations/s), so the server is what is measured.

It sends HSET to one key of ours (`<prefix>bench`), created beforehand with a TTL that HSET
keeps: nothing without an expiry, nothing outside our prefix. redis-benchmark takes a password
only on its command line, where any user of the host can read it: with a password (or TLS) it
is not run, and calibration.json says so."""
from __future__ import annotations

import csv
import io
import subprocess

from .keys import KeySpace
from .operations import SESSION_TTL_S
from .servers import find_binary
from .target import parse_redis_url

CLIENTS, PIPELINE = 50, 16
RATE_GUESS_PER_S = 150_000  # requests per round second, so a round lasts about round_s


def unavailable_because(url: str) -> str | None:
    params = parse_redis_url(url)
    if find_binary("redis-benchmark") is None:
        return "redis-benchmark is not installed"
    if params["password"] or params["username"] or params["ssl"]:
        return ("the server needs a password (or TLS): redis-benchmark would take it on its "
                "command line, readable by any user of this host")
    return None


def commands_per_s(client, url: str, ks: KeySpace, round_s: float) -> float | None:
    """HSETs per second through redis-benchmark for about round_s; None if it failed."""
    params = parse_redis_url(url)
    key = ks.key("bench")
    client.hset(key, "f", "v")
    client.expire(key, SESSION_TTL_S)
    requests = max(10_000, int(RATE_GUESS_PER_S * round_s))
    done = subprocess.run([find_binary("redis-benchmark"), "-h", params["host"],
                           "-p", str(params["port"]), "--dbnum", str(params["db"]),
                           "-c", str(CLIENTS), "-P", str(PIPELINE), "-n", str(requests),
                           "--csv", "HSET", key, "f", "v"],
                          capture_output=True, text=True, timeout=60 + 10 * round_s)
    rows = list(csv.reader(io.StringIO(done.stdout)))
    try:
        return float(rows[-1][1]) if done.returncode == 0 else None
    except (IndexError, ValueError):
        return None
