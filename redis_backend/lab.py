"""Sentinel failover lab: kill a real master under a steady write load and time the failover.

Setup: master + replicas + Sentinels on loopback (cluster.py; 2 and 3 by default, as in the
document). A client finds the master through the Sentinels exactly as the document does
(redis.sentinel.Sentinel, socket timeout 0.1 s; redis-py's own retries are off so every attempt
is counted by us) and writes one session HASH per tick at `write_rate_per_s`, recording each
acknowledged write. We then SIGKILL the master (crash) or SIGSTOP it (hang), and read from the
Sentinels' pub/sub: +sdown (one Sentinel's subjective view), +odown (quorum agrees),
+switch-master (a Sentinel gives clients the new address). Times are relative to the kill.

What Redis 7 does (src/sentinel.c, measured here on loopback): a Sentinel flags +sdown when
its oldest unanswered PING is down-after old. A crash closes the master's sockets; the Sentinel
reconnects at its next timer tick (hz 10-19) and the PING it sends on the new connection starts
the clock: +sdown at down-after + 0-0.2 s (never earlier: measured 1.02-1.09 s with down-after
1000 ms). A hang leaves the links open; the clock starts with the next periodic PING, due a
period (min(1 s, down-after)) after the last reply: down-after + 0-1.2 s. A Sentinel asks its
peers at once when it gets +sdown, so +odown follows the second Sentinel's +sdown by a tick.
The first in +odown asks for votes at once (the 0-1 s desync delay only spaces out retries) and
is elected a tick later; it sends SLAVEOF NO ONE two ticks later and sees the promotion in the
next INFO (every second from +odown): +promoted-slave about 1 s after +odown; earlier after
some crashes, when the replica reported its link down before +odown and the 1 s INFO polling
began then (sim/engines/mechanisms/sentinel.py, step 4). It then forces a
hello; the other Sentinels adopt the new master and announce +switch-master a tick later,
which is when redis-py clients find it. The leader's own +switch-master (+failover-end) waits
until the other replicas are reconfigured (another INFO period or more).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from . import __version__, cleanup
from .cluster import SentinelCluster

DEFAULTS = {"down_after_ms": 5000, "quorum": 2, "failover_timeout_ms": 10000,
            "parallel_syncs": 1, "kill": "crash", "write_rate_per_s": 500.0,
            "replicas": 2, "sentinels": 3,
            "client_socket_timeout_s": 0.1,  # the document's Sentinel client setting
            "warmup_s": None}  # None: as in production (below)
# A Sentinel sends INFO to each replica every 10 s (SENTINEL_INFO_PERIOD), at a phase set when
# it found the replica; after a crash, the INFO that reports the replica's link down switches it
# to every second (sim/engines/mechanisms/sentinel.py, step 4). In production the failure falls at a
# random point of that cycle: the lab waits a random 10-20 s before the kill to do the same.
INFO_CALM_PERIOD_S = 10.0
TAIL_S = 1.0  # keep writing this long after the first write on the new master
EVENTS = ("+sdown", "+odown", "+try-failover", "+elected-leader", "+selected-slave",
          "+promoted-slave", "+config-update-from", "+switch-master", "+slave-reconf-sent",
          "+slave-reconf-done", "+failover-end", "-failover-abort-not-elected")


class EventRecorder:
    """Pattern-subscribes to every Sentinel; records (monotonic time, sentinel, event, data)."""

    def __init__(self, addresses: list[tuple[str, int]]):
        self.events: list[tuple[float, int, str, str]] = []
        self._halt = threading.Event()
        self._subs = []
        for host, port in addresses:
            pubsub = redis.Redis(host=host, port=port, decode_responses=True).pubsub()
            pubsub.psubscribe("*")
            pubsub.get_message(timeout=1.0)  # the psubscribe confirmation
            self._subs.append((port, pubsub))
        self._threads = [threading.Thread(target=self._listen, args=s, daemon=True)
                         for s in self._subs]
        for t in self._threads:
            t.start()

    def _listen(self, port: int, pubsub) -> None:
        while not self._halt.is_set():
            msg = pubsub.get_message(timeout=0.05)
            if msg and msg["type"] == "pmessage":
                self.events.append((time.monotonic(), port, msg["channel"], msg["data"]))

    def first(self, event: str, about_master: bool = True) -> float | None:
        times = [t for t, _, ch, data in self.events if ch == event
                 and (not about_master or event == "+switch-master"
                      or data.startswith("master mymaster"))]
        return min(times) if times else None

    def stop(self) -> None:
        self._halt.set()
        for t in self._threads:
            t.join()
        for _, pubsub in self._subs:
            pubsub.close()


class Writer(threading.Thread):
    """Writes session:<i> at a steady rate through the Sentinel-managed master client."""

    def __init__(self, addresses: list[tuple[str, int]], rate_per_s: float, timeout_s: float):
        super().__init__(daemon=True)
        sentinel = Sentinel(addresses, socket_timeout=timeout_s)
        self.master = sentinel.master_for("mymaster", socket_timeout=timeout_s,
                                          retry=Retry(NoBackoff(), 0))
        self.period_s = 1.0 / rate_per_s
        self.acked: list[tuple[int, float]] = []  # (sequence number, ack time)
        self.errors: list[tuple[float, str]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        """One write per period; writes that fell due while one was blocked (a hung master
        holds each for the socket timeout) are not sent late in a burst but counted as failed,
        "Blocked": the app's requests in that time would have failed the same way."""
        i, next_s = 0, time.monotonic()
        while not self._halt.is_set():
            try:
                self.master.hset(key(i), mapping={"last_activity": f"{time.time():.3f}",
                                                  "seq": i})
                self.acked.append((i, time.monotonic()))
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as exc:
                self.errors.append((time.monotonic(), type(exc).__name__))
            i += 1
            now = time.monotonic()
            missed = int((now - next_s) / self.period_s) - 1 if now > next_s else 0
            self.errors += [(now, "Blocked")] * max(0, missed)
            next_s = max(next_s + self.period_s, now)
            self._halt.wait(max(0.0, next_s - time.monotonic()))

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.master.close()


def key(i: int) -> str:
    return f"lab:session:{i}"


def run_sentinel_lab(settings: dict, out_dir: Path | None = None) -> dict:
    """Run the lab; return (and, if out_dir, write to out_dir/lab.json) the result dict."""
    s = {**DEFAULTS, **settings}
    warmup_s = s["warmup_s"]
    if warmup_s is None:
        warmup_s = random.uniform(INFO_CALM_PERIOD_S, 2 * INFO_CALM_PERIOD_S)
    with SentinelCluster(s, replicas=s["replicas"], sentinels=s["sentinels"]) as cluster:
        recorder = EventRecorder(cluster.sentinel_addresses)
        writer = Writer(cluster.sentinel_addresses, s["write_rate_per_s"],
                        s["client_socket_timeout_s"])
        try:
            writer.start()
            time.sleep(warmup_s)
            t_kill = time.monotonic()
            os.kill(cluster.master.pid, signal.SIGKILL if s["kill"] == "crash" else signal.SIGSTOP)
            _wait_for_recovery(recorder, writer, s)
        finally:
            with cleanup.shielded():
                writer.stop()
                recorder.stop()
        lost = lost_writes(cluster.sentinel_addresses, writer.acked)
        ports = {"master_port": cluster.master.port,
                 "replica_ports": [r.port for r in cluster.replicas],
                 "sentinel_ports": [x.port for x in cluster.sentinels]}
        result = summarise({**s, "warmup_s": round(warmup_s, 2)}, t_kill, recorder, writer,
                           lost, ports)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "lab.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def _wait_for_recovery(recorder: EventRecorder, writer: Writer, s: dict) -> None:
    deadline = time.monotonic() + (s["down_after_ms"] + 2 * s["failover_timeout_ms"]) / 1000 + 10
    while time.monotonic() < deadline:
        switched = recorder.first("+switch-master")
        if switched is not None and writer.acked and writer.acked[-1][1] > switched:
            time.sleep(TAIL_S)
            return
        time.sleep(0.05)


def lost_writes(addresses: list[tuple[str, int]], acked: list[tuple[int, float]]) -> list[int]:
    """Acknowledged writes that the (new) master does not have."""
    host, port = Sentinel(addresses, socket_timeout=1.0).discover_master("mymaster")
    with redis.Redis(host=host, port=port, socket_timeout=5.0) as client:
        pipe = client.pipeline(transaction=False)
        for i, _ in acked:
            pipe.exists(key(i))
        present = pipe.execute()
    return [i for (i, _), found in zip(acked, present) if not found]


def summarise(s: dict, t_kill: float, recorder: EventRecorder, writer: Writer,
              lost: list[int], ports: dict) -> dict:
    def ms(t: float | None) -> float | None:
        return None if t is None else round((t - t_kill) * 1000, 1) + 0.0

    ack_times = [t for _, t in writer.acked]
    gaps = [(b - a, a) for a, b in zip(ack_times, ack_times[1:])]
    gap_s, gap_start = max(gaps) if gaps else (None, None)
    after_kill = [t for t in ack_times if t > t_kill]
    switch = [data for _, _, ch, data in recorder.events if ch == "+switch-master"]
    t_switch = recorder.first("+switch-master")
    summary = {"sdown_ms": ms(recorder.first("+sdown")), "odown_ms": ms(recorder.first("+odown")),
               "elected_leader_ms": ms(recorder.first("+elected-leader", False)),
               "promoted_replica_ms": ms(recorder.first("+promoted-slave", False)),
               "switch_master_ms": ms(t_switch),
               "first_write_after_kill_ms": ms(after_kill[0]) if after_kill else None,
               "client_downtime_ms": None if gap_s is None else round(gap_s * 1000, 1),
               "client_downtime_starts_ms": ms(gap_start),
               "writes_acknowledged": len(ack_times), "writes_failed": len(writer.errors),
               "writes_failed_by_error": dict(Counter(name for _, name in writer.errors)),
               "writes_acknowledged_after_switch": 0 if t_switch is None
               else sum(t > t_switch for t in ack_times),
               "acknowledged_writes_lost": len(lost),
               "failover_happened": bool(switch)}
    return {"format": "sessionsim-lab/1", "lab": "sentinel", "tool_version": __version__,
            "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "settings": {k: s[k] for k in DEFAULTS},
            "topology": {**ports, "client_socket_timeout_ms": s["client_socket_timeout_s"] * 1000},
            "summary": summary, "switch_master": switch[:1], "lost_sequence_numbers": lost[:100],
            "events": [{"t_ms": ms(t), "sentinel_port": p, "event": ch, "data": d}
                       for t, p, ch, d in sorted(recorder.events) if ch in EVENTS]}


def lab_table(result: dict) -> str:
    s, m = result["settings"], result["summary"]
    rows = [("kill", s["kill"]), ("down-after", f"{s['down_after_ms']} ms"),
            ("quorum", s["quorum"]), ("failover-timeout", f"{s['failover_timeout_ms']} ms"),
            ("writes before the kill", f"{s['warmup_s']:g} s"),
            ("+sdown (first Sentinel)", _ms(m["sdown_ms"])), ("+odown", _ms(m["odown_ms"])),
            ("+switch-master", _ms(m["switch_master_ms"])),
            ("first write after kill", _ms(m["first_write_after_kill_ms"])),
            ("client-visible downtime (longest gap)",
             "n/a" if m["client_downtime_ms"] is None else f"{m['client_downtime_ms']:,.0f} ms"),
            ("writes acknowledged / failed",
             f"{m['writes_acknowledged']} / {m['writes_failed']}"),
            ("acknowledged writes lost", m["acknowledged_writes_lost"])]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _ms(value: float | None) -> str:
    return "not seen" if value is None else f"{value:,.0f} ms after the kill"
