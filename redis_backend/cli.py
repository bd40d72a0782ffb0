"""Command line: `calibrate`, `replay` and `lab sentinel`. main(argv) -> exit code, never a
traceback for bad input (exit 2, one line), passwords masked in everything printed."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import redis

from sim.model.errors import UserError

from . import cleanup
from .target import BackendError, mask_secrets, refuse_existing, secrets_in

try:
    from psycopg import Error as _PgError
except ImportError:  # psycopg is only needed with --postgres
    _PgError = redis.RedisError
RUNTIME_ERRORS = (redis.RedisError, _PgError, OSError)


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise UsageError(f"{self.prog}: {message}")


def concurrency_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1 or max(values) > 256:
        raise argparse.ArgumentTypeError(
            f"bad concurrency list {text!r}; expected comma-separated integers 1-256, e.g. 1,4,16")
    return values


def positive(kind, allow_zero: bool = False):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(
                f"expected a {'non-negative' if allow_zero else 'positive'} number, got {text!r}")
        return value
    return parse


def build_parser() -> Parser:
    parser = Parser(prog="simulate.py", description="Real Redis/PostgreSQL backends.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    cal = sub.add_parser("calibrate", help="measure a real Redis (and PostgreSQL)")
    cal.add_argument("--redis", required=True, metavar="URL", help="redis://HOST:PORT/DB")
    cal.add_argument("--postgres", metavar="URL", help="postgresql://USER@HOST:PORT/DB")
    cal.add_argument("--out", type=Path, default=Path("calibration"), metavar="DIR")
    cal.add_argument("--force", action="store_true",
                     help="run on a non-empty DB / existing schema; overwrite outputs")
    cal.add_argument("--duration-s", type=positive(float), default=2.0,
                     help="seconds per figure, split across the rounds (default 2)")
    cal.add_argument("--concurrency", type=concurrency_list, default=[1, 4, 16],
                     help="client threads, comma-separated (default 1,4,16)")
    cal.add_argument("--memory-sessions", type=positive(int), default=10_000)
    cal.add_argument("--rounds", type=positive(int), default=4,
                     help="interleaved rounds; --duration-s is split across them (default 4)")
    cal.add_argument("--cleanup", action="store_true",
                     help="measure nothing: delete the keys earlier runs left (ssim:<8 hex>:*) "
                          "and, with --postgres, drop the sessionsim_calib schema")
    rep = sub.add_parser("replay", help="drive a real Redis with the simulator's request "
                                         "stream; predicted beside measured")
    rep.add_argument("--redis", required=True, metavar="URL", help="redis://HOST:PORT/DB")
    rep.add_argument("--calibration", required=True, type=Path, metavar="FILE",
                     help="calibration.json written by calibrate (the prediction's parameters)")
    rep.add_argument("--scenario", type=Path, metavar="FILE",
                     help="scenario whose workload mix is replayed (default scenarios/peak.yaml)")
    rep.add_argument("--rate-rps", type=positive(float), default=1000.0,
                     help="requests per second (default 1000)")
    rep.add_argument("--duration-s", type=positive(float), default=10.0)
    rep.add_argument("--warmup-s", type=positive(float, allow_zero=True), default=2.0,
                     help="not counted (default 2)")
    rep.add_argument("--clients", type=positive(int), default=8,
                     help="client threads, one connection each (default 8)")
    rep.add_argument("--seed", type=int, default=1)
    rep.add_argument("--replications", type=positive(int), default=3,
                     help="simulator replications for the prediction (default 3)")
    rep.add_argument("--repetitions", type=positive(int), default=3,
                     help="replays of the stream; the gap's interval is over them (default 3)")
    rep.add_argument("--out", type=Path, default=Path("replay"), metavar="DIR")
    rep.add_argument("--force", action="store_true",
                     help="run on a non-empty DB (only our keys are touched); overwrite outputs")
    lab = sub.add_parser("lab", help="failover labs on real local servers")
    lab.add_argument("kind", choices=["sentinel"])
    lab.add_argument("scenario", nargs="?", type=Path,
                     help="take Sentinel settings, replicas and failure from this scenario")
    lab.add_argument("--down-after-ms", type=positive(int))
    lab.add_argument("--quorum", type=positive(int))
    lab.add_argument("--failover-timeout-ms", type=positive(int))
    lab.add_argument("--parallel-syncs", type=positive(int))
    lab.add_argument("--kill", choices=["crash", "hang"])
    lab.add_argument("--write-rate", type=positive(float),
                     help="session writes per second (default 500)")
    lab.add_argument("--replications", type=positive(int), default=10,
                     help="simulator replications of the same configuration (default 10)")
    lab.add_argument("--trials", type=positive(int), default=1,
                     help="real failovers, each on fresh servers (default 1)")
    lab.add_argument("--warmup-s", type=positive(float),
                     help="seconds of writes before the kill (default: a random 10-20 s, "
                          "a random point of the Sentinels' 10 s INFO cycle, as in production)")
    lab.add_argument("--out", type=Path, default=Path("lab"), metavar="DIR")
    lab.add_argument("--force", action="store_true", help="overwrite lab.json and lab.md")
    return parser


class _Masked:
    """A stream that masks the run's secrets in everything written to it."""

    def __init__(self, stream, secrets: list[str]):
        self._stream, self._secrets = stream, secrets

    def write(self, text: str) -> int:
        return self._stream.write(mask_secrets(text, self._secrets))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    secrets = [p for a in argv for p in secrets_in(a)]
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Masked(sys.stdout, secrets), _Masked(sys.stderr, secrets)
    try:
        with cleanup.handled():
            return _run(argv)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = streams


def _run(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "calibrate":
            return _calibrate(args)
        if args.command == "replay":
            return _replay(args)
        return _lab(args)
    except (UsageError, UserError, BackendError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        _print_ledger()
        return 2
    except RUNTIME_ERRORS as exc:  # a server failed mid-run: one line, then what was left
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"error: {type(exc).__name__}: {first}", file=sys.stderr)
        _print_ledger()
        return 1
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM or SIGHUP (cleanup.Interrupted)
        name = getattr(exc, "signal_name", "SIGINT")
        print(f"interrupted by {name}: stopped", file=sys.stderr)
        _print_ledger()
        return getattr(exc, "exit_code", 130)


def _print_ledger() -> None:
    for line in cleanup.report():
        print(line, file=sys.stderr)


def _calibrate(args) -> int:
    from .calibrate import remove_leftovers, run_calibration, write_outputs
    if args.cleanup:
        for line in remove_leftovers(args.redis, args.postgres):
            print(line)
        return 0

    def progress(step: str) -> None:
        print(f"measuring {step}", file=sys.stderr, flush=True)

    calibration = run_calibration(args.redis, args.postgres, args.concurrency, args.duration_s,
                                  args.force, args.memory_sessions, args.out, on_step=progress,
                                  n_rounds=args.rounds)
    path, table = write_outputs(calibration, args.out, args.force)
    print(table)
    print(f"wrote {path} and {path.parent / 'claims.md'}")
    return 0


def _replay(args) -> int:
    from .replay_cmd import run_replay, write_outputs

    def progress(step: str) -> None:
        print(step, file=sys.stderr, flush=True)

    result = run_replay(args.redis, args.calibration, args.scenario, args.rate_rps,
                        args.duration_s, args.warmup_s, args.clients, args.seed,
                        args.replications, args.out, args.force, on_step=progress,
                        repetitions=args.repetitions)
    path, table = write_outputs(result, args.out, args.force)
    print(table)
    print(f"wrote {path} and {path.parent / 'replay.md'}")
    return 0


def _lab(args) -> int:
    import json

    from sim.model.scenario import load as load_scenario

    from . import lab_sim
    from .lab import DEFAULTS, lab_table, run_sentinel_lab
    outs = [args.out / "lab.json", args.out / "lab.md"]
    refuse_existing(outs, args.force)
    scenario = load_scenario(args.scenario) if args.scenario else None
    flags = {"down_after_ms": args.down_after_ms, "quorum": args.quorum,
             "failover_timeout_ms": args.failover_timeout_ms,
             "parallel_syncs": args.parallel_syncs, "kill": args.kill,
             "write_rate_per_s": args.write_rate, "warmup_s": args.warmup_s}
    settings = lab_sim.lab_settings(scenario, DEFAULTS, flags)
    simulated_scenario = lab_sim.lab_scenario(
        scenario or load_scenario(lab_sim.DEFAULT_SCENARIO), settings, args.replications)
    trials = []
    for n in range(args.trials):
        print(f"lab trial {n + 1} of {args.trials} ...", file=sys.stderr, flush=True)
        result = run_sentinel_lab(settings)
        print(lab_table(result))
        trials.append(result["summary"])
    print("simulating the same configuration ...", file=sys.stderr, flush=True)
    simulated = lab_sim.simulate(simulated_scenario)
    measured = lab_sim.measured_summary(trials)
    rows = lab_sim.comparison(measured, simulated)
    result.update(scenario=str(args.scenario) if args.scenario else None, trials=trials,
                  measured=measured, simulated=simulated, comparison=rows)
    table = lab_sim.to_markdown(rows, result["settings"])
    args.out.mkdir(parents=True, exist_ok=True)
    outs[0].write_text(json.dumps(result, indent=1) + "\n")
    outs[1].write_text("# Sentinel failover: lab beside simulation\n\n" + table)
    print(table)
    print(f"wrote {outs[0]} and {outs[1]}")
    return 0
