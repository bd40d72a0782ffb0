#!/usr/bin/env python3
"""The fuzzer's long run: at least 10,000 hostile scenario files through the loader, counted.

  python benchmarks/fuzz_input.py [--per-source N] [--cli N] [--seed N] [--keep DIR]

Each of the four sources of tests/fuzzing.py (mutated documents, mutated text, mutated bytes,
documents from the schema) gives N files (default 2,500), plus the hand-made cases; each file is
loaded in this process as `validate` and every run load it (a hang is a load over 10 s, cut by
an alarm). A sample of --cli files (default 200) then goes through the command line,
`simulate.main(["validate", FILE])` in one child interpreter, and the first 20 of those each in a
process of its own. Prints the counts: clean errors, valid, tracebacks, hangs; files that gave a
traceback or a hang are kept in --keep (default fuzz-failures/). Exit 1 when there was any.
"""
from __future__ import annotations

import argparse
import collections
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402

from tests.fuzzing import (clean, hand_made, judge, mutated_bytes, mutated_documents,  # noqa: E402
                           mutated_text, schema_documents, setup_dir)

HANG_S = 10


class Hang(BaseException):
    """Raised by the alarm: BaseException, so no `except Exception` in the tool swallows it."""


def _alarm(signum, frame):
    raise Hang()


def _bytes(content) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")


class Tally:
    def __init__(self, directory: Path, keep: Path):
        self.directory, self.keep = directory, keep
        self.counts: dict = collections.defaultdict(collections.Counter)
        self.files: list[bytes] = []
        self.slowest = 0.0

    def one(self, source: str, content) -> None:
        data = _bytes(content)
        file = self.directory / "fuzz.yaml"
        file.write_bytes(data)
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, HANG_S)
        try:
            kind, message = judge(file)
        except Hang:
            kind, message = "hang", f"over {HANG_S} s"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        self.slowest = max(self.slowest, time.perf_counter() - started)
        if kind == "error" and not clean(message):
            kind = "unclean error"
        self.counts[source][kind] += 1
        self.files.append(data)
        if kind in ("traceback", "hang", "unclean error"):
            self.keep.mkdir(parents=True, exist_ok=True)
            n = sum(self.counts[source].values())
            (self.keep / f"{source}-{n}.yaml").write_bytes(data)
            (self.keep / f"{source}-{n}.txt").write_text(message)


def run_source(tally: Tally, name: str, strategy, n: int, seed: int) -> None:
    @hypothesis_seed(seed)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def body(content):
        tally.one(name, content)
    body()


CLI_LOOP = """
import contextlib, io, sys
import simulate
bad = 0
for file in sys.argv[1:]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = simulate.main(["validate", file])
    text = err.getvalue()
    if status not in (0, 2) or (status == 2 and not (text.count("\\n") == 1 and text.startswith("error: "))):
        bad += 1
        print("BAD", file, status, text[-2000:])
print("DONE", len(sys.argv) - 1, bad)
"""


def run_cli(tally: Tally, n: int) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    sample = random.Random(1).sample(tally.files, min(n, len(tally.files)))
    files = []
    for i, data in enumerate(sample):
        file = tally.directory / f"cli-{i}.yaml"
        file.write_bytes(data)
        files.append(str(file))
    try:
        proc = subprocess.run([sys.executable, "-c", CLI_LOOP, *files], capture_output=True, text=True,
                              timeout=max(60, 3 * len(files)), cwd=ROOT)
        last = (proc.stdout.strip().splitlines() or ["DONE 0 0"])[-1].split()
        bad = int(last[2]) if last[0] == "DONE" else len(files)
        counts["one interpreter: files"] += len(files)
        counts["one interpreter: traceback or not one line"] += bad + (proc.returncode != 0)
        if bad or proc.returncode:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
    except subprocess.TimeoutExpired:
        counts["one interpreter: hang"] += 1
    for file in files[:20]:
        try:
            proc = subprocess.run([sys.executable, str(ROOT / "simulate.py"), "validate", file],
                                  capture_output=True, text=True, timeout=60, cwd=ROOT)
        except subprocess.TimeoutExpired:
            counts["own process: hang"] += 1
            continue
        ok = proc.returncode == 0 or (proc.returncode == 2 and proc.stderr.count("\n") == 1
                                      and "Traceback" not in proc.stderr)
        counts["own process: ok" if ok else "own process: traceback or not one line"] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-source", type=int, default=2500)
    parser.add_argument("--cli", type=int, default=200)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--keep", type=Path, default=Path("fuzz-failures"))
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        setup_dir(directory)
        tally = Tally(directory, args.keep)
        for name, data in hand_made().items():
            tally.one("hand-made", data)
        sources = {"mutated documents": mutated_documents(), "mutated text": mutated_text(),
                   "mutated bytes": mutated_bytes(), "schema documents": schema_documents()}
        for i, (name, strategy) in enumerate(sources.items()):
            run_source(tally, name, strategy, args.per_source, args.seed + i)
            print(f"{name}: {dict(tally.counts[name])}", flush=True)
        cli = run_cli(tally, args.cli)
    kinds = ("error", "valid", "traceback", "hang", "unclean error")
    print("\n| source | files | clean errors | valid | tracebacks | hangs | unclean errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    total: collections.Counter = collections.Counter()
    for source, counts in tally.counts.items():
        total.update(counts)
        print(f"| {source} | {sum(counts.values()):,} | " + " | ".join(f"{counts[k]:,}" for k in kinds) + " |")
    print(f"| all | {sum(total.values()):,} | " + " | ".join(f"{total[k]:,}" for k in kinds) + " |")
    print(f"\nslowest file: {tally.slowest:.2f} s; command line sample: {dict(cli)}; "
          f"wall {time.time() - started:.0f} s")
    failed = total["traceback"] + total["hang"] + total["unclean error"] + sum(
        v for k, v in cli.items() if "traceback" in k or "hang" in k)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
