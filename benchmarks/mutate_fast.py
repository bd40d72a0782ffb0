#!/usr/bin/env python3
"""How many broken rules of the fast engine its exactness tests catch: a mutation study.

  python benchmarks/mutate_fast.py [--mutants N] [--seed S] [--jobs J] [--timeout-s T]
                                   [--numba-opt 0-3] [--skip K] [--no-baseline] [--list]
  python benchmarks/mutate_fast.py --mutants N --seed S (--judge LOG | --retest LOG [--jobs J])

Mutants of the compiled code of sim/engines/fast (benchmarks/mutants.py: a statement deleted, a
comparison, an operator, a constant, min/max changed, in a function numba compiles) are drawn
with the seed; the first is always the one issue #17 names (the calm path forgets to skip the
Redis round trip's samples: the Redis hop's draws in sim/model/path.py lose that pool). Each runs in a copy of the repository in a
temporary directory (the checkout is never touched) with a numba cache of its own: the engine
tests (TESTS below, `pytest -x -q`) either fail (killed: a test failed, the copy crashed or did
not compile, or it ran past the timeout) or pass (survived). First the copy without a mutant
must pass them (--no-baseline skips that, and the timeout is then --timeout-s or 1,200 s; else 3
times the baseline's time, times --jobs).

Prints every mutant's outcome as it ends, then the mutants tried, killed, the share killed (of
all, of those that compiled, of those not judged equivalent: EQUIVALENT below, survivors read
and found unable to change a figure, each with its reason) and each survivor (file:line, the
mutation). SIGINT, SIGTERM and SIGHUP stop the tests that run and remove the copies (an ignored
SIGHUP, as under nohup, stays ignored); --skip K then finishes the study. --judge LOG prints
that report again from a study's printed outcomes, with EQUIVALENT as it is now: survivors are
read and judged after the run. --retest LOG tests that study's survivors again (once tests were
added for them; the sources of sim/ unchanged) and reports on all its mutants.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.mutants import Mutant, all_mutants, redis_roundtrip_skip  # noqa: E402
from redis_backend.cleanup import SIGNALS, Interrupted  # noqa: E402

# the fastest and most searching first: -x stops at the first failure
# the exact tests; not the engines' statistical agreement (a 95% interval, minutes of the
# reference engine), which an exact test already covers
TESTS = ["tests/test_event_queue.py", "tests/test_exact_paths.py", "tests/test_rules_balancer_app.py",
         "tests/test_rules_session_db.py", "tests/test_memcached.py", "tests/test_exact_bulk.py", "tests/test_engines.py", "-k", "not agrees"]
NOT_COMPILED = ("TypingError", "UnsupportedError", "LoweringError", "NumbaError")
# Survivors read and judged equivalent: no figure can change, only the speed, or a value nothing
# reads. By file, the line as it was and as the mutant has it: once that line changes, such a
# mutant counts as a plain survivor again.
NO_SOURCE = "the source of the next event is read only when there is one (its time is finite)"
SHORTER = "the stretch keeps a shorter prefix of whole busy cycles; the event loop runs the rest"
RING = ("the ring of acknowledgement times, sized for 90 s of arrivals at peak, is written every other "
        "place: it still keeps 45 s, more than any window read (a lag is at most 30 s: MAX_LAG_MS)")
EQUIVALENT = {
    ("sim/engines/fast/kernel.py", "if lb < 0 or w.node[lb].state == CRASHED or w.node[lb].state == OFF:",
     "if lb < -1 or w.node[lb].state == CRASHED or w.node[lb].state == OFF:"):
        "the floating IP always has a holder (sim.engines.mechanisms.vrrp never leaves it empty): "
        "g.vip is never negative",
    ("sim/engines/fast/holds.py", "if REDIS_DOWN <= reason <= REDIS_WAIT:",
     "if REDIS_DOWN < reason <= REDIS_WAIT:"):
        "nothing fails with redis_down: Sentinel's failover never leaves the master's role empty",
    ("sim/engines/fast/events.py", "t, seq, source = math.inf, 0, -2", "t, seq, source = math.inf, 0, -3"): NO_SOURCE,
    ("sim/engines/fast/events.py", "t, seq, source = math.inf, 0, -2", "t, seq, source = math.inf, 0, 2"): NO_SOURCE,
    ("sim/engines/fast/events.py", "g.seq += 1", "g.seq += 2"):
        "scheduling numbers only order events: steps of 2 order them the same",
    ("sim/engines/fast/holds.py", "state = w.node[w.apps[r.app, 0]].state",
     "state = w.node[w.apps[r.app, -1]].state"):
        "an app server's workers and cores change state together (sim.model.topology.App.set_state; "
        "failures name the app server, never one of its stations)",
    ("sim/engines/fast/events.py", "for j in range(first + 1, min(first + 4, n)):",
     "for j in range(first + 0, min(first + 4, n)):"):
        "the scan of a node's children starts at the first child, which is not earlier than itself",
    ("sim/engines/fast/calls.py", "g.redis_acks += 1", "g.redis_acks += 2"): RING,
    ("sim/engines/fast/holds.py", "if i - g.next_arr == free:", "if i - g.next_arr != free:"):
        "a response is booked ahead only to spare an event: with the condition stricter, its "
        "event is pushed instead and gives the same figures",
    ("sim/engines/fast/bulk.py", "if c + 1 < n and heap[c + 1] < heap[c]:",
     "if c + 1 <= n and heap[c + 1] < heap[c]:"):
        "one place past the heap holds x itself (its only caller sifts down the heap's last "
        "element): x is never less than itself, so no child is taken for it",
    ("sim/engines/fast/kept.py", "g.redis_acks += 1", "g.redis_acks += 2"): RING,
    ("sim/engines/fast/bulk.py", "n = 0", "n = 1"):
        "counting the arrivals before `until` from one assumes the first is before it: when it "
        "is not, one candidate is under MIN_RUN and no stretch runs either way (or the sample "
        "pools are refilled first, which changes no figure: tests/test_exact_bulk.py)",
    ("sim/engines/fast/stages.py", "for i in range(lo + 1, end):", "for i in range(lo - 1, end):"):
        "the insertion sort starts two places earlier: the element it takes first is put back "
        "where it was (the inner loop stops at `lo`), then it sorts as before",
    ("sim/engines/fast/bulk.py", "for i in range(m + 1):", "for i in range(m - 1):"): SHORTER,
    ("sim/engines/fast/bulk.py", "for i in range(m + 1):", "for i in range(m + 0):"): SHORTER,
    ("sim/engines/fast/stages.py", "if earliest > t and earliest - t > patience:",
     "if earliest > t and earliest - t >= patience:"):
        "a call whose wait equals its patience exactly ends the calm stretch before it (it "
        "leaves nothing kept changed); the event loop serves it",
}


def sources(root: Path) -> list[str]:
    """The files of the checkout to copy: git's (tracked, and untracked but not ignored)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=root, capture_output=True, check=True).stdout.decode()
    return [f for f in out.split("\0") if f and (root / f).is_file()]


class Study:
    """The copies, the tests running in them, and what each mutant gave."""

    def __init__(self, args):
        self.args, self.files = args, sources(ROOT)
        self.tmp = Path(tempfile.mkdtemp(prefix="mutate-fast-"))
        self.running: dict[int, subprocess.Popen] = {}
        self.lock, self.stopping = threading.Lock(), False
        try:
            self.checkout = self._copy(ROOT, self.tmp / "checkout")  # as it is now, whatever changes later
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise

    def _copy(self, source: Path, where: Path) -> Path:
        for f in self.files:
            (where / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / f, where / f)
        return where

    def copy(self, name: str, mutant: Mutant | None) -> Path:
        where = self._copy(self.checkout, self.tmp / name)
        if mutant:
            (where / mutant.file).write_text(mutant.source)
        return where

    def env(self, where: Path) -> dict:
        env = dict(os.environ, PYTHONPATH=str(where), NUMBA_CACHE_DIR=str(where / ".numba-cache"),
                   PYTHONDONTWRITEBYTECODE="1", NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
        if self.args.numba_opt is not None:
            env["NUMBA_OPT"] = str(self.args.numba_opt)
        return env

    def run(self, where: Path, command: list[str], timeout_s: float) -> tuple[str, int | None, str]:
        """('passed' | 'failed' | 'timed out', exit code, output) of a command in a copy; the
        command runs in a process group of its own, stopped whole on a timeout or a stop."""
        with self.lock:
            if self.stopping:
                raise Interrupted(signal.SIGTERM)
            with open(where / "mutant.log", "w") as log:
                proc = subprocess.Popen(command, cwd=where, env=self.env(where), stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            self.running[proc.pid] = proc
        try:
            proc.wait(timeout=timeout_s)
            state = "passed" if proc.returncode == 0 else "failed"
        except subprocess.TimeoutExpired:
            state = "timed out"
        finally:
            if proc.poll() is None:  # timed out or stopped: never one that has ended (its pid is free)
                self.stop(proc)
            with self.lock:
                self.running.pop(proc.pid, None)
        return state, proc.returncode, (where / "mutant.log").read_text(errors="replace")

    @staticmethod
    def stop(proc: subprocess.Popen):
        """Its process group, by the group's id (the pid of the process we started)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()

    def stop_all(self):
        with self.lock:
            self.stopping = True
            running = list(self.running.values())
        for proc in running:
            if proc.poll() is None:
                self.stop(proc)

    def test(self, name: str, mutant: Mutant | None, timeout_s: float) -> tuple[str, float]:
        """The engine tests in a copy with the mutant: its outcome, and how long it took."""
        where = self.copy(name, mutant)
        started = time.monotonic()
        try:
            command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                       f"--basetemp={where / '.pytest-tmp'}", *TESTS]
            state, code, output = self.run(where, command, timeout_s)
        finally:
            shutil.rmtree(where, ignore_errors=True)
        took = time.monotonic() - started
        if state == "failed" and code in (3, 4, 5):  # pytest's internal, usage, no-tests errors
            raise RuntimeError(f"{name}: pytest could not run the tests (exit {code}):\n{output[-3000:]}")
        if state == "failed":
            state = "did not compile" if any(e in output for e in NOT_COMPILED) \
                else "crashed" if code < 0 else "tests failed"
        return state, took

    def baseline(self) -> float:
        """The tests pass on the copy without a mutant, and import its code: their time."""
        where = self.copy("baseline", None)
        try:
            state, _, out = self.run(where, [sys.executable, "-c", "import sim; print(sim.__file__)"], 60)
            if state != "passed" or not out.strip().startswith(str(where)):
                raise RuntimeError(f"the copy's tests would not import the copy's code: {out[-500:]}")
        finally:
            shutil.rmtree(where, ignore_errors=True)
        state, took = self.test("baseline", None, self.args.timeout_s or 3600)
        if state != "passed":
            raise RuntimeError(f"without a mutant the tests did not pass ({state}): fix that first")
        return took


def sample(root: Path, n: int, seed: int) -> list[Mutant]:
    named = redis_roundtrip_skip(root)
    others = [m for m in all_mutants(root) if m.source != named.source]
    return [named] + random.Random(seed).sample(others, min(n - 1, len(others)))


def equivalent(m: Mutant) -> str | None:
    return EQUIVALENT.get((m.file, m.code, m.becomes))


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%} ({part} of {whole})" if whole else "none"


def report(results: list[tuple[Mutant, str, float]]):
    killed = [r for r in results if r[1] != "survived"]
    survivors = [r[0] for r in results if r[1] == "survived"]
    judged = [m for m in survivors if equivalent(m)]
    stillborn = sum(r[1] == "did not compile" for r in results)
    how = ", ".join(f"{sum(r[1] == k for r in killed)} {k}" for k in sorted({r[1] for r in killed}))
    print(f"\nmutants tried: {len(results)}")
    print(f"killed: {len(killed)}" + (f" ({how})" if how else ""))
    print(f"share killed: {_share(len(killed), len(results))}")
    print(f"share killed of those that compiled: {_share(len(killed) - stillborn, len(results) - stillborn)}")
    print(f"share killed of those not judged equivalent: {_share(len(killed), len(results) - len(judged))}")
    print(f"time per mutant: {sum(r[2] for r in results) / max(1, len(results)):.0f} s")
    print(f"survivors: {len(survivors)}, {len(judged)} of them judged equivalent")
    for m in survivors:
        print(f"  {m}\n    `{m.code}` -> `{m.becomes}`"
              + (f"\n    equivalent: {equivalent(m)}" if equivalent(m) else ""))


def judged(log: str, mutants: list[Mutant]) -> list[tuple[Mutant, str, float]]:
    """The outcomes a study printed ("[k/N] state (T s) mutant"), each with its mutant from the
    same sample (the same --mutants, --seed and sources)."""
    by_name = {str(m): m for m in mutants}
    twice = {name for name in by_name if sum(str(m) == name for m in mutants) > 1}
    out = []
    for line in log.splitlines():
        match = re.match(r"\[\d+/\d+\] (.+?) \((\d+) s\) (.+)$", line)
        if match:
            state, took, name = match.groups()
            if name not in by_name:
                raise SystemExit(f"{name}: not in this sample (other --mutants, --seed, or sources)")
            if name in twice:
                raise SystemExit(f"{name}: two mutants of the sample print so; their outcomes cannot be told apart")
            out.append((by_name[name], state, float(took)))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mutants", type=int, default=30, help="how many (the named one included)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1, help="mutants tested at once")
    p.add_argument("--timeout-s", type=float, default=None, help="per mutant")
    p.add_argument("--numba-opt", type=int, choices=range(4), default=None,
                   help="NUMBA_OPT for the copies (unset: numba's default)")
    p.add_argument("--skip", type=int, default=0,
                   help="leave out the first SKIP mutants of the sample (to finish a study that was stopped)")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--list", action="store_true", help="print the sample and stop")
    p.add_argument("--judge", type=Path, metavar="LOG",
                   help="print the report of a study from its printed outcomes, with EQUIVALENT as it is now")
    p.add_argument("--retest", type=Path, metavar="LOG",
                   help="test again only the survivors of that study (after tests were added), "
                        "and report on all its mutants")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(map(str, sample(ROOT, args.mutants, args.seed)[args.skip:])))
        return 0
    if args.judge:
        report(judged(args.judge.read_text(), sample(ROOT, args.mutants, args.seed)))
        return 0
    previous = {s: signal.signal(s, _interrupt) for s in SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}
    results: list[tuple[Mutant, str, float]] = []
    study = None
    try:
        study = Study(args)
        mutants = sample(study.checkout, args.mutants, args.seed)
        earlier = judged(args.retest.read_text(), mutants) if args.retest else []
        if args.retest:
            results += [r for r in earlier if r[1] != "survived"]
            mutants = [r[0] for r in earlier if r[1] == "survived"]
            print(f"killed in {args.retest}, not tested again:")
            for k, (m, state, took) in enumerate(results, 1):
                print(f"[{k}/{len(results)}] {state} ({took:.0f} s) {m}")
        run(study, mutants[args.skip:], results)
    except Interrupted as exc:
        print(f"\ninterrupted by {exc.signal_name}: the tests stopped, the copies removed; so far:",
              file=sys.stderr)
        report(results)
        return exc.exit_code
    finally:
        if study:
            study.stop_all()
            shutil.rmtree(study.tmp, ignore_errors=True)
        for s, handler in previous.items():
            signal.signal(s, handler)
    report(results)
    return 0


def run(study: Study, mutants: list[Mutant], results: list):
    """The baseline, then the mutants, `--jobs` at a time; each outcome printed as it ends."""
    args = study.args
    timeout_s = args.timeout_s or 1200
    if not args.no_baseline:
        took = study.baseline()
        timeout_s = args.timeout_s or 3 * took * args.jobs  # the jobs share the cores
        print(f"baseline: the tests pass without a mutant in {took:.0f} s; timeout {timeout_s:.0f} s",
              flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(study.test, f"m{i}", m, timeout_s): m for i, m in enumerate(mutants)}
        try:
            for k, future in enumerate(as_completed(futures), 1):
                state, took = future.result()
                state = "survived" if state == "passed" else state
                results.append((futures[future], state, took))
                print(f"[{k}/{len(mutants)}] {state} ({took:.0f} s) {futures[future]}", flush=True)
        except BaseException:
            study.stop_all()
            pool.shutdown(cancel_futures=True)
            raise


def _interrupt(signum, frame):
    raise Interrupted(signum)


if __name__ == "__main__":
    sys.exit(main())
