"""What a run shows while it goes, on standard error: "batch k/N: name" for each batch of
replications, as a bar on a terminal, and as a plain line every ~10 s when standard error is a
file or a pipe (CI, logs), so that a long run shows life without filling the log."""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

INTERVAL_S = 10.0
MAX_TITLE = 70  # a line stays within 120 columns


class Progress:
    """A factory of progress callbacks, one per batch: `progress(scenario, label)` returns
    `update(simulated_s)`, what the runner calls as the batch's replications advance."""

    def __init__(self, batches: int, optional: int = 0, stream: TextIO | None = None,
                 tty: bool | None = None, clock: Callable[[], float] = time.monotonic, interval_s: float = INTERVAL_S):
        # N of "batch k/N": "≤N" when some batches run only if needed
        self.of = f"≤{batches}" if optional else str(batches)
        self.batches, self.started = batches, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock, self.interval_s = clock, interval_s
        self.t0 = clock()

    def __call__(self, scenario, label: str) -> Callable[[float], None]:
        self.started += 1
        title = f"batch {self.started}/{self.of}: {label}" if self.batches > 1 else label
        title = title if len(title) <= MAX_TITLE else title[:MAX_TITLE - 1] + "…"
        sim = scenario.simulation
        total_s = sim.duration_s * sim.replications
        if self.tty:
            return _bar(title, total_s, self.stream)
        plural = "s" if sim.replications != 1 else ""
        self.line(f"{title}: {sim.replications} replication{plural} of {sim.duration_s:g} simulated s")
        started = last = self.clock()

        def update(done_s: float):
            nonlocal last
            now = self.clock()
            if now - last >= self.interval_s:
                last = now
                # the fast engine's clock is its control plane's, which may reach the end before
                # the requests behind it are all simulated
                share = done_s / total_s
                self.line(f"{title}: {share:.0%} simulated" if share < 1 else
                          f"{title}: finishing ({now - started:.0f} s in this batch)")
        return update

    def line(self, text: str):
        """A plain line with the time since the start: '[  42 s] ...' (on a terminal too)."""
        print(f"[{self.clock() - self.t0:4.0f} s] {text}", file=self.stream, flush=True)


def _bar(title: str, total_s: float, stream: TextIO) -> Callable[[float], None]:
    from tqdm import tqdm
    bar = tqdm(total=total_s, delay=2, file=stream, desc=title,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")

    def update(done_s: float):
        bar.update(done_s - bar.n)
        if bar.n >= bar.total:
            bar.close()
    return update
