"""The Sentinel lab's configuration, simulated, and the two side by side.

Settings come from a scenario (mechanisms.sentinel, topology.redis, its redis_master failure)
or the lab's defaults; command-line flags win. The simulated run is that scenario with the
lab's load and client: session writes of one command at the lab's write rate, the circuit
breaker off (the lab's client has no fallback), the master crashed or hung at FAIL_AT_S.

Figures, both sides in ms after the failure: the first +sdown, +odown, +switch-master;
client downtime = the longest gap between two successful writes (the lab: acknowledgements;
the simulator: completions); acknowledged writes the failover lost.
Agreement: the measured figure lies within the simulated replications' range widened by
TOLERANCE_MS. Why 250 ms: the lab stamps an event when a Python thread reads it from the
Sentinels' pub/sub on a shared 2-core machine (tens of ms late, sometimes ~100), and a real
Sentinel's timer period is itself 53-100 ms (hz 10-19); 250 ms is 2.5 timer periods.
Lost writes agree within LOST_TOLERANCE: replication on loopback lags well under a
millisecond, the simulator's default lag is 1 ms (a fraction of one write at the lab's rates).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from reporting import fmt
from sim import runner
from sim.schema import Scenario

from .predict import validated_scenario
from .target import BackendError

DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "peak.yaml"
WARMUP_S, FAIL_AT_S, AFTER_S = 2.0, 5.0, 6.0
TOLERANCE_MS = 250.0
LOST_TOLERANCE = 2
FIGURES = [("+sdown (first Sentinel)", "sdown_ms", "+sdown"),
           ("+odown", "odown_ms", "+odown"),
           ("+switch-master", "switch_master_ms", "+switch-master"),
           ("client downtime", "client_downtime_ms", None),
           ("acknowledged writes lost", "acknowledged_writes_lost", None)]
LAB_KINDS = {"crash": "crash", "hang": "hang", "partition": "hang"}  # SIGKILL or SIGSTOP


def lab_settings(scenario: Scenario | None, defaults: dict, flags: dict) -> dict:
    """The lab's settings: defaults, then the scenario's, then the flags given."""
    s = dict(defaults)
    if scenario is not None:
        redis = scenario.topology.redis
        if scenario.architecture != "redis_ha" or redis is None:
            raise BackendError(f"scenario {scenario.name!r} has no Sentinels (architecture "
                               f"{scenario.architecture}); expected a redis_ha scenario")
        sen = scenario.mechanisms.sentinel
        s.update(down_after_ms=int(sen.down_after_ms), quorum=sen.quorum,
                 failover_timeout_ms=int(sen.failover_timeout_ms),
                 parallel_syncs=sen.parallel_syncs, replicas=redis.replicas,
                 sentinels=redis.sentinels, client_socket_timeout_s=redis.socket_timeout_s)
        failure = next((f for f in scenario.failures if f.component == "redis_master"
                        and f.kind in LAB_KINDS), None)
        if failure is not None:
            s["kill"] = LAB_KINDS[failure.kind]
    s.update({k: v for k, v in flags.items() if v is not None})
    if s["quorum"] > s["sentinels"]:
        raise BackendError(f"quorum {s['quorum']} cannot be reached with {s['sentinels']} "
                           f"Sentinels; expected 1-{s['sentinels']}")
    return s


def lab_scenario(base: Scenario, s: dict, replications: int, seed: int = 1) -> Scenario:
    """`base` with the lab's load, client, Sentinel settings and failure."""
    data = base.model_dump()
    data.update(name=f"lab-{base.name}", architecture="redis_ha", failures=[
        {"name": "redis-master", "component": "redis_master", "kind": s["kill"],
         "at_s": FAIL_AT_S, "detected_by": "sentinel"}])
    data["workload"]["arrivals"] = {"kind": "constant", "rate_rps": s["write_rate_per_s"]}
    data["workload"]["mix"] = {"session_update": 1.0}
    data["workload"]["operations"]["session_update"].update(session_commands=1, pipelined=True)
    data["topology"]["redis"].update(replicas=s["replicas"], sentinels=s["sentinels"],
                                     socket_timeout_s=s["client_socket_timeout_s"])
    data["mechanisms"]["sentinel"].update(
        down_after_ms=s["down_after_ms"], quorum=s["quorum"],
        failover_timeout_ms=s["failover_timeout_ms"], parallel_syncs=s["parallel_syncs"])
    data["mechanisms"]["circuit_breaker"]["enabled"] = False
    data["incidents"]["matrix"] = False
    data["simulation"].update(duration_s=FAIL_AT_S + s["down_after_ms"] / 1000 + AFTER_S,
                              warmup_s=WARMUP_S, replications=replications, seed=seed)
    return validated_scenario(data)


def _figures(raw: dict, t_fail: float) -> dict:
    def first(prefix: str):
        times = [t for t, _, text, _ in raw["events"] if t >= t_fail and text.startswith(prefix)]
        return round((min(times) - t_fail) * 1000, 1) if times else None

    done = np.sort(np.asarray(raw["incident"][0], dtype=float))
    gap_ms = round(float(np.diff(done).max() * 1000), 1) if done.size > 1 else None
    lost = sum(w["count"] for w in raw["lost_writes"] if w["t"] >= t_fail)
    out = {key: first(prefix) for _, key, prefix in FIGURES if prefix}
    return out | {"client_downtime_ms": gap_ms, "acknowledged_writes_lost": lost}


def simulate(scenario: Scenario) -> dict:
    """Per-figure mean, min and max over the replications, and the per-replication values."""
    raws, _ = runner.simulate(scenario)
    per_rep = [_figures(raw, scenario.failures[0].at_s) for raw in raws]
    summary = {}
    for _, key, _ in FIGURES:
        values = [r[key] for r in per_rep if r[key] is not None]
        summary[key] = ({"mean": round(float(np.mean(values)), 1), "min": float(min(values)),
                         "max": float(max(values)), "replications": len(values)}
                        if values else None)
    return {"summary": summary, "replications": per_rep, "seed": scenario.simulation.seed}


def comparison(measured: dict, simulated: dict) -> list[dict]:
    rows = []
    for label, key, _ in FIGURES:
        m, sim = measured.get(key), simulated["summary"].get(key)
        tol = LOST_TOLERANCE if key == "acknowledged_writes_lost" else TOLERANCE_MS
        if m is None or sim is None:
            verdict, gap = "not measured", None
        else:
            gap = round(m - sim["mean"], 1) + 0.0
            verdict = "agrees" if sim["min"] - tol <= m <= sim["max"] + tol else "differs"
        rows.append({"figure": label, "key": key, "measured": m, "simulated": sim,
                     "gap": gap, "tolerance": tol, "verdict": verdict})
    return rows


def to_markdown(rows: list[dict], settings: dict) -> str:
    head = (f"Settings: {settings['kill']} of the master, down-after {settings['down_after_ms']} ms, "
            f"quorum {settings['quorum']} of {settings['sentinels']}, failover-timeout "
            f"{settings['failover_timeout_ms']} ms, {settings['replicas']} replicas, "
            f"{settings['write_rate_per_s']:g} writes/s. Times in ms after the failure; "
            "simulated: mean [min-max] over the replications.\n\n")
    def ms(x) -> str | None:
        return None if x is None else f"{x:,.0f}"
    table = fmt.table(
        ["figure", "lab (real Sentinels)", "simulated", "gap", "verdict"],
        [[r["figure"], ms(r["measured"]),
          None if r["simulated"] is None else
          f"{ms(r['simulated']['mean'])} [{ms(r['simulated']['min'])}-{ms(r['simulated']['max'])}]",
          None if r["gap"] is None else f"{r['gap']:+,.0f}", f"{r['verdict']} (±{r['tolerance']:g})"]
         for r in rows], align="lrrrl")
    return head + table + "\n"
