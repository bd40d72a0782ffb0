"""Redis's capacity measured by a client that saturates the server, which one Python process
cannot (its GIL caps it near 10-30k commands/s): redis-benchmark when it is installed (a C
client, CLIENTS connections pipelining PIPELINE commands), else PROCESSES Python processes
pipelining PIPELINE commands each. Either way HSET to one key of ours (`<prefix>bench`),
created beforehand with a TTL that HSET keeps: nothing without an expiry, nothing outside our
prefix. redis-benchmark takes a password only on its command line, where any user of the host
can read it: with a password (or TLS) the processes are used; `measured_by` says which."""
from __future__ import annotations

import csv
import io
import multiprocessing
import queue
import signal
import subprocess
import time

from . import cleanup
from .keys import KeySpace
from .operations import SESSION_TTL_S
from .servers import find_binary
from .target import parse_redis_url

CLIENTS, PIPELINE, PROCESSES = 50, 16, 4
RATE_GUESS_PER_S = 150_000  # requests per round second, so a round lasts about round_s


def unavailable_because(url: str) -> str | None:
    params = parse_redis_url(url)
    if find_binary("redis-benchmark") is None:
        return "redis-benchmark is not installed"
    if params["password"] or params["username"] or params["ssl"]:
        return ("the server needs a password (or TLS): redis-benchmark would take it on its "
                "command line, readable by any user of this host")
    return None


def commands_per_s(client, url: str, ks: KeySpace, round_s: float) -> tuple[float | None, str]:
    """(HSETs per second for about round_s, which client measured it); None if it failed."""
    key = ks.key("bench")
    client.hset(key, "f", "v")
    client.expire(key, SESSION_TTL_S)
    if unavailable_because(url) is None:
        return _redis_benchmark(url, key, round_s), "redis-benchmark"
    return _processes(url, key, round_s), f"{PROCESSES} Python processes"


def _processes(url: str, key: str, round_s: float) -> float | None:
    """PROCESSES forked processes (the URL reaches them in memory, not on a command line)."""
    ctx = multiprocessing.get_context("fork")
    counts = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(url, key, round_s, counts), daemon=True)
             for _ in range(PROCESSES)]
    try:
        for p in procs:
            p.start()
        total = sum(counts.get(timeout=30 + 2 * round_s) for _ in procs)
    except queue.Empty:  # a process failed (it reports nothing): no figure, not a wrong one
        total = 0
    finally:
        for p in procs:
            p.terminate()
            p.join()
    return total / round_s if total else None


def _hammer(url: str, key: str, round_s: float, counts) -> None:
    from .target import connect_redis
    for sig in cleanup.SIGNALS:  # the parent's handlers stay the parent's: terminate() ends us
        signal.signal(sig, signal.SIG_DFL)
    client = connect_redis(url)
    sent, stop = 0, time.perf_counter() + round_s
    while time.perf_counter() < stop:
        pipe = client.pipeline(transaction=False)
        for _ in range(PIPELINE):
            pipe.hset(key, "f", "v")
        pipe.execute()
        sent += PIPELINE
    counts.put(sent)


def _redis_benchmark(url: str, key: str, round_s: float) -> float | None:
    params = parse_redis_url(url)
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
