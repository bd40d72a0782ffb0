"""Command line: `calibrate` and `lab sentinel`. main(argv) -> exit code, never a traceback
for bad input (exit 2, one line), passwords masked in everything printed."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import redis

from .target import BackendError, mask_secrets, url_password

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


def positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
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
                     help="seconds per measurement (default 2)")
    cal.add_argument("--concurrency", type=concurrency_list, default=[1, 4, 16],
                     help="client threads, comma-separated (default 1,4,16)")
    cal.add_argument("--memory-sessions", type=positive(int), default=10_000)
    lab = sub.add_parser("lab", help="failover labs on real local servers")
    lab.add_argument("kind", choices=["sentinel"])
    lab.add_argument("--down-after-ms", type=positive(int), default=5000)
    lab.add_argument("--quorum", type=positive(int), default=2)
    lab.add_argument("--failover-timeout-ms", type=positive(int), default=10000)
    lab.add_argument("--parallel-syncs", type=positive(int), default=1)
    lab.add_argument("--kill", choices=["crash", "hang"], default="crash")
    lab.add_argument("--write-rate", type=positive(float), default=500.0,
                     help="session writes per second (default 500)")
    lab.add_argument("--out", type=Path, default=Path("lab"), metavar="DIR")
    lab.add_argument("--force", action="store_true", help="overwrite lab.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    secrets = [p for p in (url_password(a) for a in argv if "://" in a) if p]
    try:
        args = build_parser().parse_args(argv)
        if args.command == "calibrate":
            return _calibrate(args, secrets)
        return _lab(args)
    except UsageError as exc:
        print(mask_secrets(f"error: {exc}", secrets), file=sys.stderr)
        return 2
    except BackendError as exc:
        print(mask_secrets(f"error: {exc}", secrets), file=sys.stderr)
        return 2
    except RUNTIME_ERRORS as exc:  # a server failed mid-run: one line, not a traceback
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(mask_secrets(f"error: {type(exc).__name__}: {first}", secrets), file=sys.stderr)
        return 1
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print("interrupted: stopped, our keys/schema/servers were cleaned up", file=sys.stderr)
        return 130


def _calibrate(args, secrets: list[str]) -> int:
    from .calibrate import run_calibration, write_outputs

    def progress(step: str) -> None:
        print(f"measuring {step}", file=sys.stderr, flush=True)

    calibration = run_calibration(args.redis, args.postgres, args.concurrency, args.duration_s,
                                  args.force, args.memory_sessions, args.out, on_step=progress)
    path, table = write_outputs(calibration, args.out, args.force)
    print(mask_secrets(table, secrets))
    print(f"wrote {path} and {path.parent / 'claims.md'}")
    return 0


def _lab(args) -> int:
    from .lab import lab_table, run_sentinel_lab
    out = args.out / "lab.json"
    if out.exists() and not args.force:
        raise BackendError(f"{out} already exists; refusing to overwrite it (use --force)")
    if args.quorum > 3:
        raise BackendError(f"--quorum {args.quorum} cannot be reached with 3 Sentinels; "
                           "expected 1-3")
    settings = {"down_after_ms": args.down_after_ms, "quorum": args.quorum,
                "failover_timeout_ms": args.failover_timeout_ms,
                "parallel_syncs": args.parallel_syncs, "kill": args.kill,
                "write_rate_per_s": args.write_rate}
    result = run_sentinel_lab(settings, args.out)
    print(lab_table(result))
    print(f"wrote {out}")
    return 0
