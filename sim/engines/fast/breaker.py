"""sim.engines.breaker.CircuitBreaker, compiled: its state lives in the globals, its openings and
closings in a log the engine hands to the control plane."""
from __future__ import annotations

from sim.engines.fast.world import jit

CLOSED, OPEN, HALF_OPEN = 0, 1, 2


@jit()
def _log(w, t, opened):
    g = w.g[0]
    w.breaker[0, g.n_brk] = t
    w.breaker[1, g.n_brk] = opened
    g.n_brk += 1


@jit()
def allows(w, t):
    """True: call Redis. False: take the fallback path."""
    g, c = w.g[0], w.c[0]
    if not c.brk_on or g.brk_state == CLOSED:
        return True
    if g.brk_state == OPEN and t - g.brk_opened >= c.brk_reset_s:
        g.brk_state, g.brk_trial = HALF_OPEN, 0
    if g.brk_state == HALF_OPEN and not g.brk_trial:
        g.brk_trial = 1  # one request tries Redis; the others keep to the fallback
        return True
    return False


@jit()
def failure(w, t):
    g, c = w.g[0], w.c[0]
    if not c.brk_on:
        return
    g.brk_consec += 1
    if g.brk_state == HALF_OPEN or (g.brk_state == CLOSED and g.brk_consec >= c.brk_threshold):
        if g.brk_state == CLOSED:
            _log(w, t, 1)
        g.brk_state, g.brk_opened = OPEN, t


@jit()
def success(w, t):
    g = w.g[0]
    g.brk_consec = 0
    if g.brk_state == HALF_OPEN:
        g.brk_state = CLOSED
        _log(w, t, 0)
