"""Timing loops at several client concurrencies, and service-time estimates.

Load: `concurrency` threads, one connection each, run one operation back to back (closed
loop, no think time) for `duration_s`. Throughput = completed operations / elapsed wall time;
latency = client-side time of each operation (includes the round trip and, at higher
concurrency, waiting for the Python GIL: client-side figures are upper bounds); client CPU =
the CPU time the calling thread spent on it (time.thread_time: building the commands, the
syscalls, parsing the reply), the client's own cost, which a replay's prediction needs.

Service time of a Redis operation (what the simulator's single-server queue needs):
Redis executes commands on one thread, so at saturation throughput = 1 / E[S]. A Python
client on a small machine often cannot saturate Redis (the GIL caps the client near a few
10k ops/s), so 1 / measured-throughput would overstate E[S]. We therefore measure E[S]
where it happens: the Redis main thread's CPU time (INFO cpu, used_cpu_*_main_thread) spent
per operation during the highest-concurrency run. That is the saturation throughput's
inverse without needing to reach saturation. When the server was in fact saturated
(CPU utilisation >= 90 %) both numbers agree and we use 1 / throughput. Surprise worth
knowing: CPU per operation falls as load rises (one event-loop wake-up serves several
clients), so a figure taken at low utilisation is an upper bound. On the 2-core dev box:
~11 us per HGETALL at 15 % utilisation vs ~7 us per command from redis-benchmark at 40 %.
Samples for an empirical distribution: the concurrency-1 latencies minus the smallest PING
round trip observed (removing the network and client floor), floored at 5 % of their mean,
then rescaled so their mean equals E[S]. This keeps the measured shape (spread, tail) of one
operation's cost while matching the server's own mean. It is an approximation: client jitter
leaks into the shape; document it wherever the samples are used.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from . import cleanup

MAX_SAMPLES = 2000
SATURATED_UTILISATION = 0.9


def run_load(connect: Callable[[], object], op: Callable[[object, int], None],
             concurrency: int, duration_s: float) -> dict:
    """Run op on `concurrency` threads for duration_s; return throughput and latencies (s)."""
    conns = [connect() for _ in range(concurrency)]
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    cpus: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[BaseException] = []
    start_gate = threading.Barrier(concurrency + 1)
    stop = threading.Event()

    def worker(i: int) -> None:
        conn, out, cpu, n = conns[i], latencies[i], cpus[i], i
        start_gate.wait()
        try:
            while not stop.is_set():
                c0, t0 = time.thread_time(), time.perf_counter()
                op(conn, n)
                out.append(time.perf_counter() - t0)
                cpu.append(time.thread_time() - c0)
                n += concurrency
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(concurrency)]
    for t in threads:
        t.start()
    try:
        start_gate.wait()
        t_start = time.perf_counter()
        stop.wait(duration_s)
    finally:  # also when interrupted: stop the workers before cleanup touches the keys
        with cleanup.shielded():
            stop.set()
            for t in threads:
                t.join()
            elapsed_s = time.perf_counter() - t_start if "t_start" in locals() else 0.0
            for conn in conns:
                close = getattr(conn, "close", None)
                if close:
                    close()
    if errors:
        raise errors[0]
    all_lat = np.concatenate([np.asarray(x) for x in latencies])
    all_cpu = np.concatenate([np.asarray(x) for x in cpus])[:all_lat.size]
    return {"ops": int(all_lat.size), "elapsed_s": elapsed_s,
            "throughput_ops_s": all_lat.size / elapsed_s if elapsed_s else 0.0,
            "latencies_s": all_lat, "client_cpu_s": all_cpu}


def latency_summary_ms(latencies_s: np.ndarray) -> dict:
    if latencies_s.size == 0:
        return {k: None for k in ("mean", "p50", "p95", "p99", "p999")}
    ms = latencies_s * 1000.0
    p50, p95, p99, p999 = np.percentile(ms, [50, 95, 99, 99.9])
    return {"mean": _r(ms.mean()), "p50": _r(p50), "p95": _r(p95), "p99": _r(p99),
            "p999": _r(p999)}


def public(result: dict) -> dict:
    """The JSON form of a run_load result (with the server's CPU per operation, if measured)."""
    out = {"throughput_ops_s": round(result["throughput_ops_s"], 1), "ops": result["ops"],
           "latency_ms": latency_summary_ms(result["latencies_s"])}
    if "cpu_s" in result and result["ops"]:
        out["server_cpu_per_op_ms"] = _r(result["cpu_s"] / result["ops"] * 1000.0, 5)
    return out


def open_loop_penalty(connect: Callable[[], object], rate_rps: float, requests: int,
                      closed_loop_s: float, seed: int = 0) -> dict:
    """What an open-loop client pays on this host beyond a closed-loop round trip: PINGs sent
    one at a time at Poisson times of `rate_rps`; response time (reply - due) minus the mean
    closed-loop PING latency, floored at 0. Between requests the client thread and the server
    sleep; waking them costs time (on a VM, an idle vCPU must be rescheduled), more the longer
    they slept, which a closed-loop measurement never sees."""
    due = np.cumsum(np.random.default_rng(seed).exponential(1.0 / rate_rps, requests))
    conn = connect()
    response = np.empty(requests)
    try:
        t0 = time.perf_counter() + 0.05
        for i, at in enumerate(due):
            wait = t0 + at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            conn.ping()
            response[i] = time.perf_counter() - (t0 + at)
    finally:
        conn.close()
    entry = samples_entry(np.maximum(response - closed_loop_s, 0.0))
    return entry | {"rate_rps": rate_rps, "response_ms": latency_summary_ms(response)}


def ping_rtt(connect: Callable[[], object], duration_s: float) -> dict:
    """Round trip of a PING at concurrency 1: the network + client floor. `wire` is the part
    the client did not spend on its CPU (latency - client CPU): network, kernel and server."""
    result = run_load(connect, lambda c, n: c.ping(), 1, duration_s)
    summary = latency_summary_ms(result["latencies_s"])
    summary["min"] = _r(result["latencies_s"].min() * 1000.0) if result["ops"] else None
    wire_s = np.maximum(result["latencies_s"] - result["client_cpu_s"], 0.0)
    summary["wire"] = samples_entry(wire_s)
    summary["client_cpu"] = samples_entry(result["client_cpu_s"])
    return summary


def samples_entry(values_s: np.ndarray, seed: int = 0) -> dict:
    """{"mean", "samples"} in ms, at most MAX_SAMPLES of them (a random subset)."""
    if values_s.size > MAX_SAMPLES:
        values_s = np.random.default_rng(seed).choice(values_s, MAX_SAMPLES, replace=False)
    ms = values_s * 1000.0
    return {"mean": _r(ms.mean(), 5) if ms.size else None, "samples": [_r(x, 6) for x in ms]}


def redis_cpu_s(client) -> float:
    """CPU seconds used by the Redis main thread (falls back to the whole process)."""
    cpu = client.info("cpu")
    if "used_cpu_user_main_thread" in cpu:
        return float(cpu["used_cpu_user_main_thread"]) + float(cpu["used_cpu_sys_main_thread"])
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def service_time(c1_latencies_s: np.ndarray, rtt_min_s: float, mean_s: float,
                 seed: int = 0) -> list[float]:
    """Empirical service-time samples in ms (see the module docstring)."""
    if c1_latencies_s.size == 0 or mean_s <= 0:
        return []
    net = c1_latencies_s - rtt_min_s
    net = np.maximum(net, 0.05 * max(net.mean(), 1e-9))
    if net.size > MAX_SAMPLES:
        net = np.random.default_rng(seed).choice(net, MAX_SAMPLES, replace=False)
    samples = net * (mean_s / net.mean())
    return [_r(x * 1000.0, 6) for x in samples]


def mean_service_s(ops: int, elapsed_s: float, cpu_s: float) -> tuple[float, str, float]:
    """(E[S] in s, method, server utilisation) from one high-concurrency run."""
    utilisation = cpu_s / elapsed_s if elapsed_s else 0.0
    if utilisation >= SATURATED_UTILISATION and ops:
        return elapsed_s / ops, "saturation_throughput", utilisation
    return (cpu_s / ops if ops else 0.0), "server_cpu_per_op", utilisation


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits)
