"""The host's noise, probed before and between calibration rounds (recorded in calibration.json
and named in an `uncertain` verdict): on a shared VM the measurements move with it.

- timing jitter: how late a 1 ms sleep wakes up (p50, p99, max over PROBE_SLEEPS sleeps): what
  every latency measured here carries on top of the server's;
- CPU: the share of CPU time stolen by the hypervisor, and the run queue (runnable tasks per
  core) over the probe, from /proc/stat;
- fsync rate: fsyncs per second of a small file in the output directory's file system (a
  committed PostgreSQL write waits for one; the issue saw 162 to 4,092 commits/s as it moved).
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

PROBE_SLEEPS = 100
SLEEP_S = 0.001
FSYNC_PROBE_S = 0.1


def _cpu_times() -> tuple[float, float]:
    """(total, steal) jiffies from /proc/stat's cpu line; zeros where it is missing."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0, 0.0
    values = [float(x) for x in fields]
    return sum(values), values[7] if len(values) > 7 else 0.0


def _running() -> int | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("procs_running"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _fsyncs_per_s(directory: Path) -> float:
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".sessionsim-fsync-") as f:
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < FSYNC_PROBE_S:
            f.write(b"x" * 512)
            f.flush()
            os.fsync(f.fileno())
            n += 1
        return n / (time.perf_counter() - start)


def probe(when: str, directory: Path | None = None) -> dict:
    """One probe (about 0.35 s); `when` says where in the run it was taken."""
    total0, steal0 = _cpu_times()
    late, running = np.empty(PROBE_SLEEPS), []
    for i in range(PROBE_SLEEPS):
        t0 = time.perf_counter()
        time.sleep(SLEEP_S)
        late[i] = time.perf_counter() - t0 - SLEEP_S
        if i % 10 == 0:
            running.append(_running())
    total1, steal1 = _cpu_times()
    directory = Path(directory or tempfile.gettempdir())
    directory.mkdir(parents=True, exist_ok=True)
    runnable = [r for r in running if r is not None]
    ms = late * 1000
    return {"when": when,
            "sleep_late_ms": {"p50": round(float(np.percentile(ms, 50)), 3),
                              "p99": round(float(np.percentile(ms, 99)), 3),
                              "max": round(float(ms.max()), 3)},
            "cpu_steal_pct": round(100 * (steal1 - steal0) / (total1 - total0), 1)
            if total1 > total0 else None,
            "run_queue_per_core": round(float(np.mean(runnable)) / (os.cpu_count() or 1), 2)
            if runnable else None,
            "fsyncs_per_s": round(_fsyncs_per_s(directory), 0)}


def describe(probes: list[dict]) -> str:
    """The noise in a few words, for an uncertain verdict: the range over the probes."""
    def span(values, unit: str, digits: int = 1) -> str:
        values = [v for v in values if v is not None]
        if not values:
            return "n/a"
        lo, hi = min(values), max(values)
        return (f"{lo:,.{digits}f}{unit}" if lo == hi else
                f"{lo:,.{digits}f}-{hi:,.{digits}f}{unit}")

    return (f"host noise: 1 ms sleeps woke up to "
            f"{span([p['sleep_late_ms']['p99'] for p in probes], ' ms', 2)} late (p99), "
            f"CPU steal {span([p['cpu_steal_pct'] for p in probes], '%')}, run queue "
            f"{span([p['run_queue_per_core'] for p in probes], ' per core', 2)}, "
            f"{span([p['fsyncs_per_s'] for p in probes], ' fsyncs/s', 0)}")
