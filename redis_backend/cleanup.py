"""Interrupts and cleanup: SIGINT, SIGTERM and SIGHUP alike; a cleanup nothing cuts short; a
ledger of what was cleaned up and what was left, which the command prints.

`handled()` makes each of the three signals raise `Interrupted` (a KeyboardInterrupt, so every
`finally` and `__exit__` runs) in the main thread. Inside `shielded()` a signal is only
recorded: a second Ctrl-C, or a `kill` while we delete our keys or stop our servers, never
leaves half of them behind. A signal recorded during a shield is raised when the shield ends,
unless an exception is already unwinding through or around the shield (then it is only
reported).

The ledger holds one line per thing cleaned up or left behind ("deleted 1,002 keys ...",
"left 37 keys ...: remove them with ..."): the command prints what happened, never a cleanup
that did not.
"""
from __future__ import annotations

import signal
import sys
import threading

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """A signal asked us to stop; `signal_name` says which, `exit_code` is 128 + its number."""

    def __init__(self, signum: int):
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + int(signum)
        super().__init__(self.signal_name)


class _State:
    def __init__(self):
        self.shields = 0
        self.deferred: list[int] = []  # signals received while shielded, not yet raised
        self.ignored: list[str] = []  # signals received during a cleanup that was unwinding
        self.notes: list[str] = []

    def reset(self) -> None:
        self.__init__()


_state = _State()


def _on_signal(signum: int, frame) -> None:
    if _state.shields:
        _state.deferred.append(signum)
        return
    raise Interrupted(signum)


class handled:
    """Context manager: SIGINT, SIGTERM and SIGHUP raise Interrupted; a fresh ledger."""

    def __enter__(self):
        _state.reset()
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, _on_signal) for s in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


class shielded:
    """Context manager: signals wait until the block is done (see the module docstring)."""

    def __enter__(self):
        _state.shields += 1
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        _state.shields -= 1
        if _state.shields or not _state.deferred:
            return
        names = [signal.Signals(s).name for s in _state.deferred]
        first = _state.deferred[0]
        _state.deferred.clear()
        if exc_type is None and sys.exc_info()[0] is None:  # nothing unwinding: stop now
            raise Interrupted(first)
        _state.ignored += names


def note(line: str) -> None:
    """Record what a cleanup did or left behind, for the command to print."""
    _state.notes.append(line)


def report() -> list[str]:
    """The ledger's lines, and any signal that arrived while cleaning up."""
    lines = list(_state.notes)
    if _state.ignored:
        lines.append(f"{', '.join(_state.ignored)} received during the cleanup: the cleanup "
                     "was finished first")
    return lines
