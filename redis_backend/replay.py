"""Drive a real Redis with the simulator's own request stream, open loop, at a chosen rate.

The stream is replication 0's: the arrival times and operations sim/engines/setup.py draws from
the scenario's workload (same named random streams, same one-second chunks), with the rate set
to the replay's. Open loop: each request is due at its time whatever happened before; `clients`
threads, one connection each (the app's workers), take the requests in order, wait until each is
due and send it. Response time = reply - due (it includes waiting for a free client thread and
the thread's wake-up); service latency = reply - send. Requests due in the warm-up are sent but
not counted, as in the simulator. Redis utilisation = the main thread's CPU over the wall time.
"""
from __future__ import annotations

import threading
import time
from collections import Counter

import numpy as np

from sim.model.schema import Scenario
from sim.engines.streams import Streams
from sim.engines.setup import arrival_stream

from . import cleanup, measure
from .keys import KeySpace
from .operations import redis_op, seed_sessions

TOKENS = 1000
START_DELAY_S = 0.2  # the first request is due this long after the threads start


def request_stream(scenario: Scenario) -> list[tuple[float, str]]:
    """(due time in s, operation) for every request of replication 0: the simulator's own."""
    stream = arrival_stream(scenario, Streams(scenario.simulation.seed, 0))
    requests = []
    while not stream.done:
        times, ops, _ = stream.next_chunk()
        requests += [(at, stream.names[i]) for at, i in zip(times.tolist(), ops.tolist())]
    return requests


def _senders(scenario: Scenario, ks: KeySpace, tokens: list[str]) -> dict:
    ops = scenario.workload.operations
    return {name: redis_op(name, ks, tokens, ops[name].pipelined)
            for name, share in scenario.workload.mix.items() if share > 0}


def drive(connect, scenario: Scenario, ks: KeySpace, clients: int) -> dict:
    """Send the stream; return per-request records (numpy arrays) and the wall time."""
    stream = request_stream(scenario)
    tokens = [f"t{i:05d}" for i in range(TOKENS)]
    setup = connect()
    try:
        seed_sessions(setup, ks, tokens)
    finally:
        setup.close()
    senders = _senders(scenario, ks, tokens)
    conns = [connect() for _ in range(clients)]
    sent, done = np.full(len(stream), np.nan), np.full(len(stream), np.nan)
    errors: list[BaseException] = []
    halt = threading.Event()
    lock, cursor = threading.Lock(), [0]
    t0 = time.perf_counter() + START_DELAY_S

    def worker(conn) -> None:
        while not halt.is_set():
            with lock:
                i = cursor[0]
                cursor[0] += 1
            if i >= len(stream):
                return
            due_s, name = stream[i]
            if halt.wait(max(0.0, t0 + due_s - time.perf_counter())):
                return
            sent[i] = time.perf_counter()
            try:
                senders[name](conn, i)
            except BaseException as exc:  # reported to the main thread
                errors.append(exc)
                halt.set()
                return
            done[i] = time.perf_counter()

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in conns]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    finally:  # also when interrupted: stop the workers before cleanup touches the keys
        with cleanup.shielded():
            halt.set()
            for t in threads:
                t.join()
            for conn in conns:
                conn.close()
    if errors:
        raise errors[0]
    due_s = np.array([at for at, _ in stream])
    return {"ops": np.array([name for _, name in stream]), "due_s": due_s,
            "sent_s": sent - t0, "done_s": done - t0,
            "wall_s": float(np.nanmax(done - t0)) if len(stream) else 0.0}


# A run is compared only if its client kept to its schedule: a request sent LAG_P99_LIMIT_MS
# late at the 99th percentile means the client fell behind (its threads could not keep up:
# every response time then carries the backlog), one sent STALL_LIMIT_MS late means the host
# stalled (a VM pause, a neighbour's burst). Wake-up jitter on a busy VM is a few ms.
LAG_P99_LIMIT_MS, STALL_LIMIT_MS = 20.0, 250.0


def summarise(records: dict, scenario: Scenario, redis_cpu_s: float) -> dict:
    """Measured figures over the window after the warm-up, in the simulator's terms.

    Throughput = completions per second within the window (a request due in the window that
    finished after it does not count; one due in the warm-up that finished in it does): what
    the server delivered, not what was offered. Latencies are of the requests due in the
    window. The client's lag (sent - due) says whether the run can be compared at all."""
    sim = scenario.simulation
    due, sent, done = records["due_s"], records["sent_s"], records["done_s"]
    window_s = sim.duration_s - sim.warmup_s
    counted = (due >= sim.warmup_s) & ~np.isnan(done)
    finished = ~np.isnan(done) & (done >= sim.warmup_s) & (done <= sim.duration_s)
    response, ops = (done - due)[counted], records["ops"][counted]
    lag_ms = (sent - due)[(due >= sim.warmup_s) & ~np.isnan(sent)] * 1000
    lag = measure.latency_summary_ms(lag_ms / 1000)
    lag["max"] = round(float(lag_ms.max()), 3) if lag_ms.size else None
    reasons = []
    if lag["p99"] is not None and lag["p99"] > LAG_P99_LIMIT_MS:
        reasons.append(f"the client fell behind its schedule (lag p99 {lag['p99']:,.1f} ms > "
                       f"{LAG_P99_LIMIT_MS:g} ms)")
    if lag["max"] is not None and lag["max"] > STALL_LIMIT_MS:
        reasons.append(f"the host or the client stalled (a request sent {lag['max']:,.0f} ms "
                       f"late > {STALL_LIMIT_MS:g} ms)")
    wall_s = records["wall_s"]
    return {"requests": int(due.size), "counted": int(counted.sum()),
            "throughput_rps": round(float(finished.sum()) / window_s, 2),
            "offered_rps": round(float(((due >= sim.warmup_s) & (due < sim.duration_s)).sum())
                                 / window_s, 2),
            "latency_ms": measure.latency_summary_ms(response),
            "service_latency_ms": measure.latency_summary_ms((done - sent)[counted]),
            "client_lag_ms": lag,
            "latency_ms_by_operation": {name: measure.latency_summary_ms(response[ops == name])
                                        for name in sorted(set(ops.tolist()))},
            "redis_utilisation": round(redis_cpu_s / wall_s, 4) if wall_s else None,
            "mix_sent": dict(Counter(records["ops"].tolist())),
            "valid": not reasons, "invalid_because": reasons}
