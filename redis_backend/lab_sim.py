"""The Sentinel lab's configuration, simulated, and the two side by side.

Settings come from a scenario (mechanisms.sentinel, topology.redis, its redis_master failure)
or the lab's defaults; command-line flags win. The simulated run is that scenario with the
lab's load and client: session writes of one command at the lab's write rate, the circuit
breaker off (the lab's client has no fallback), the master crashed or hung at FAIL_AT_S.

Figures, both sides in ms after the failure: the first +sdown, +odown, +switch-master;
client downtime = the longest gap between two successful writes (the lab: acknowledgements;
the simulator: completions); acknowledged writes the failover lost.
Agreement, figure by figure: the gap = the lab's mean over its trials (`--trials`) minus the
simulated mean, with its 95% interval from both spreads (Welch: sqrt(s_lab^2/n_lab +
s_sim^2/n_sim), Student t; with one trial the lab's spread is taken to be the simulated one,
which says so). The claim is TARGET: within 5% of the measured figure, and never finer than
FLOOR_MS (a Sentinel timer period is 53-100 ms, and the lab stamps an event when a Python
thread reads it from the Sentinels' pub/sub on a shared machine, tens of ms late). "agrees"
when the whole interval lies within it, "differs" when none of it does, "uncertain" otherwise
(more trials narrow the interval). Lost writes: within LOST_TOLERANCE writes (replication on
loopback lags well under a millisecond, the simulator's default lag is 1 ms).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import t as student_t

from reporting import fmt
from sim.study import runner
from sim.engines.results import Replication
from sim.model.schema import Scenario

from .predict import validated_scenario
from .target import BackendError

DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "peak.yaml"
WARMUP_S, FAIL_AT_S, AFTER_S = 2.0, 5.0, 6.0
TARGET, FLOOR_MS = 0.05, 100.0
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


def _figures(raw: Replication, t_fail: float) -> dict:
    def first(prefix: str):
        times = [e.t_s for e in raw.events if e.t_s >= t_fail and e.text.startswith(prefix)]
        return round((min(times) - t_fail) * 1000, 1) if times else None

    done = np.sort(raw.incident_t_s)
    gap_ms = round(float(np.diff(done).max() * 1000), 1) if done.size > 1 else None
    lost = sum(w.count for w in raw.lost_writes if w.t_s >= t_fail)
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
                         "max": float(max(values)), "sd": _sd(values),
                         "replications": len(values)}
                        if values else None)
    return {"summary": summary, "replications": per_rep, "seed": scenario.simulation.seed}


def _sd(values) -> float | None:
    return round(float(np.std(values, ddof=1)), 1) if len(values) > 1 else None


def measured_summary(trials: list[dict]) -> dict:
    """The lab's figures over its trials: mean, sd (None with one trial) and count."""
    out = {}
    for _, key, _ in FIGURES:
        values = [t[key] for t in trials if t.get(key) is not None]
        out[key] = ({"mean": round(float(np.mean(values)), 1), "sd": _sd(values),
                     "trials": len(values)} if values else None)
    return out


def _gap(m: dict, sim: dict) -> tuple[float, list[float]]:
    sd_lab = m["sd"] if m["sd"] is not None else (sim["sd"] or 0.0)
    se = np.sqrt(sd_lab ** 2 / m["trials"] + (sim["sd"] or 0.0) ** 2 / sim["replications"])
    df = max(1, min(m["trials"] if m["sd"] is not None else sim["replications"],
                    sim["replications"]) - 1)
    gap = m["mean"] - sim["mean"]
    half = float(student_t.ppf(0.975, df) * se)
    return round(gap, 1) + 0.0, [round(gap - half, 1), round(gap + half, 1)]


def comparison(measured: dict, simulated: dict) -> list[dict]:
    """measured: measured_summary(trials). One row per figure, with its verdict."""
    rows = []
    for label, key, _ in FIGURES:
        m, sim = measured.get(key), simulated["summary"].get(key)
        if m is None or sim is None:
            rows.append({"figure": label, "key": key, "measured": m, "simulated": sim,
                         "gap": None, "gap_ci95": None, "allowed": None,
                         "verdict": "not measured"})
            continue
        allowed = (LOST_TOLERANCE if key == "acknowledged_writes_lost"
                   else max(TARGET * abs(m["mean"]), FLOOR_MS))
        gap, (lo, hi) = _gap(m, sim)
        verdict = ("agrees" if -allowed <= lo and hi <= allowed
                   else "differs" if hi < -allowed or lo > allowed else "uncertain")
        rows.append({"figure": label, "key": key, "measured": m, "simulated": sim, "gap": gap,
                     "gap_ci95": [lo, hi], "allowed": round(allowed, 1), "verdict": verdict,
                     "lab_spread": "measured" if m["sd"] is not None else "taken from the "
                     "simulation (one trial)"})
    return rows


def to_markdown(rows: list[dict], settings: dict) -> str:
    trials = max((r["measured"]["trials"] for r in rows if r["measured"]), default=0)
    head = (f"Settings: {settings['kill']} of the master, down-after {settings['down_after_ms']} ms, "
            f"quorum {settings['quorum']} of {settings['sentinels']}, failover-timeout "
            f"{settings['failover_timeout_ms']} ms, {settings['replicas']} replicas, "
            f"{settings['write_rate_per_s']:g} writes/s, {trials} lab trial(s). Times in ms "
            "after the failure; lab: mean ± sd; simulated: mean [min-max] over the "
            "replications; gap = lab - simulated [95% interval]; verdict against ±5% "
            f"(at least {FLOOR_MS:g} ms): agrees when the whole interval is inside, differs "
            "when none of it is, uncertain otherwise.\n\n")

    def ms(x) -> str | None:
        return None if x is None else f"{x:,.0f}"

    def lab(m) -> str | None:
        if m is None:
            return None
        return ms(m["mean"]) + ("" if m["sd"] is None else f" ± {ms(m['sd'])}")

    table = fmt.table(
        ["figure", "lab (real Sentinels)", "simulated", "gap [95%]", "verdict"],
        [[r["figure"], lab(r["measured"]),
          None if r["simulated"] is None else
          f"{ms(r['simulated']['mean'])} [{ms(r['simulated']['min'])}-{ms(r['simulated']['max'])}]",
          None if r["gap"] is None else
          f"{r['gap']:+,.0f} [{r['gap_ci95'][0]:+,.0f}, {r['gap_ci95'][1]:+,.0f}]",
          r["verdict"] if r["allowed"] is None else f"{r['verdict']} (±{r['allowed']:,.0f})"]
         for r in rows], align="lrrrl")
    return head + table + "\n"
