"""`replay`: the simulator's request stream against a real Redis, beside the simulator's prediction.

Order, as in calibrate: check everything first (calibration file, scenario, output files, Redis
reachable and its DB empty unless --force); probe the host's open-loop penalty at the replay's
rate (PINGs only, no keys; written to host-probe.json, which the prediction reads); drive the
server under our own key prefix, clean up (also on Ctrl-C); then run the simulator on the same
stream and write replay.json and replay.md (predicted beside measured, with the gap).
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sim.model.scenario import load as load_scenario
from sim.engines.streams import mean_s

from . import __version__, measure
from .keys import KeySpace, refuse_non_empty
from .predict import comparison, load_calibration, predict, replay_scenario, to_markdown
from .replay import drive, summarise
from .target import BackendError, connect_redis, mask_url, refuse_existing

FORMAT = "sessionsim-replay/1"
OUT_FILE, TABLE_FILE, PROBE_FILE = "replay.json", "replay.md", "host-probe.json"
PROBE_S, PROBE_MIN_REQUESTS = 1.0, 300
DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "peak.yaml"


def run_replay(redis_url: str, calibration: Path, scenario_file: Path | None, rate_rps: float,
               duration_s: float, warmup_s: float, clients: int, seed: int,
               replications: int, out_dir: Path, force: bool, on_step=None,
               repetitions: int = 3) -> dict:
    step = on_step or (lambda text: None)
    refuse_existing([Path(out_dir) / name for name in (OUT_FILE, TABLE_FILE, PROBE_FILE)], force)
    if warmup_s >= duration_s:
        raise BackendError(f"--warmup-s {warmup_s:g} must be shorter than --duration-s {duration_s:g}")
    scenario_file = Path(scenario_file or DEFAULT_SCENARIO)
    load_calibration(calibration)
    base = load_scenario(scenario_file)
    at_calibration = replay_scenario(base, calibration, rate_rps, duration_s, warmup_s,
                                     clients, seed, replications)
    client = connect_redis(redis_url)
    refuse_non_empty(client, force, f"Redis database {mask_url(redis_url)}")
    step(f"probing the host's open-loop penalty at {rate_rps:g} req/s")
    probe = probe_host(redis_url, rate_rps, Path(out_dir))
    scenario = replay_scenario(base, calibration, rate_rps, duration_s, warmup_s, clients, seed,
                               replications, (Path(out_dir) / PROBE_FILE, "samples"))
    runs = []
    for k in range(repetitions):
        step(f"replaying {scenario_file.name}'s stream at {rate_rps:g} req/s for "
             f"{duration_s:g} s (repetition {k + 1}/{repetitions})")
        with KeySpace(client, mask_url(redis_url)) as ks:
            cpu0 = measure.redis_cpu_s(client)
            records = drive(lambda: connect_redis(redis_url), scenario, ks, clients)
            redis_cpu_s = measure.redis_cpu_s(client) - cpu0
        runs.append(summarise(records, scenario, redis_cpu_s))
        for reason in runs[-1]["invalid_because"]:
            step(f"repetition {k + 1} is invalid, not compared: {reason}")
    step(f"simulating the same stream ({replications} replications)")
    predicted = predict(scenario)
    valid = [r for r in runs if r["valid"]]
    measured = valid[0] if valid else runs[0]  # the first valid repetition, in full
    return {"format": FORMAT, "tool_version": __version__,
            "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "target": mask_url(redis_url),
            "settings": {"scenario": str(scenario_file), "calibration": str(calibration),
                         "rate_rps": rate_rps, "duration_s": duration_s, "warmup_s": warmup_s,
                         "clients": clients, "seed": seed, "replications": replications,
                         "repetitions": repetitions,
                         "mix": scenario.workload.mix,
                         "open_loop_penalty": str(Path(out_dir) / PROBE_FILE)},
            "host": {"open_loop_penalty_ms_now": probe["mean"],
                     "open_loop_penalty_ms_at_calibration": mean_s(
                         at_calibration.topology.network.lb_app_rtt) * 1000,
                     "calibration_probe": at_calibration.topology.network.lb_app_rtt.key},
            "measured": measured, "repetitions": runs,
            "valid_repetitions": len(valid), "predicted": predicted,
            "comparison": comparison(runs, predicted)}


def probe_host(redis_url: str, rate_rps: float, out_dir: Path) -> dict:
    """Open-loop PINGs at rate_rps (no keys written); samples saved for the prediction."""
    def connect():
        return connect_redis(redis_url)

    closed_s = measure.ping_rtt(connect, 0.3)["mean"] / 1000
    requests = max(PROBE_MIN_REQUESTS, int(rate_rps * PROBE_S))
    probe = measure.open_loop_penalty(connect, rate_rps, requests, closed_s)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / PROBE_FILE).write_text(json.dumps(probe) + "\n")
    return probe


def write_outputs(result: dict, out_dir: Path, force: bool) -> tuple[Path, str]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / OUT_FILE
    refuse_existing([path, out_dir / TABLE_FILE], force)
    path.write_text(json.dumps(result, indent=1) + "\n")
    s = result["settings"]
    table = to_markdown(result["comparison"])
    (out_dir / TABLE_FILE).write_text(
        "# Replay: predicted beside measured\n\n"
        f"{s['rate_rps']:g} req/s of {Path(s['scenario']).name}'s mix for {s['duration_s']:g} s "
        f"(warm-up {s['warmup_s']:g} s), {s['clients']} client threads, seed {s['seed']}, "
        f"against {result['target']}; prediction from {Path(s['calibration']).name} "
        f"({s['replications']} replications), its open-loop penalty re-measured just before "
        f"the replay: {result['host']['open_loop_penalty_ms_now']:.3f} ms "
        f"(calibration: {result['host']['open_loop_penalty_ms_at_calibration']:.3f} ms). "
        f"{result['valid_repetitions']} of {s['repetitions']} repetitions compared (a run "
        "whose client fell behind or whose host stalled is not); measured: their mean; gap = "
        "(measured - predicted) / predicted, mean [95% interval] over them.\n\n" + table
        + _invalid_text(result["repetitions"]))
    return path, table


def _invalid_text(runs: list[dict]) -> str:
    lines = [f"- repetition {k + 1}: {'; '.join(r['invalid_because'])}"
             for k, r in enumerate(runs) if not r["valid"]]
    return ("\nNot compared:\n" + "\n".join(lines) + "\n") if lines else ""
