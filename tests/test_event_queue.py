"""The fast engine's event queue (sim.engines.fast.events: FIFO lanes and a 4-ary heap) against
a sorted list: events come out by time, and events at the same time in the order they were
scheduled (as SimPy's queue gives them), each with its kind, slot and request."""
from types import SimpleNamespace

import numpy as np
import pytest

from sim.engines.fast import events
from sim.engines.fast.layout import GLOBALS, N_EVENT_KINDS


@pytest.fixture
def queue(monkeypatch):
    """An empty queue, run as plain Python (py_func): a namespace stands in for the World."""
    for name in ("push_event", "earliest", "pop", "_heap_push", "_heap_pop", "_earlier", "_move"):
        monkeypatch.setattr(events, name, getattr(events, name).py_func)
    lanes = len(events.LANE_KINDS)
    return SimpleNamespace(g=np.zeros(1, GLOBALS).view(np.recarray),
                           heap_t=np.zeros(1 << 12), heap_i=np.zeros((1 << 12, 4), np.int64),
                           lane_t=np.zeros((lanes, events.LANE_SIZE)),
                           lane_i=np.zeros((lanes, events.LANE_SIZE, 3), np.int64),
                           lane_n=np.zeros((lanes, 2), np.int64))


def test_events_come_out_by_time_then_in_the_order_scheduled(queue):
    """20,000 random pushes and pops; times are whole numbers ahead of the last event popped, so
    that many tie, of every kind (in a lane or in the heap)."""
    rng = np.random.default_rng(1)
    pending, now, popped = [], 0.0, 0
    for _ in range(20_000):
        if pending and rng.random() < 0.45:
            t, source = events.earliest(queue)
            got = events.pop(queue, source)
            want = min(pending)
            pending.remove(want)
            assert (float(got[0]), int(got[1]), int(got[2]), int(got[3])) == (want[0], *want[2:])
            assert t == want[0] >= now
            now, popped = t, popped + 1
        else:
            seq = int(queue.g[0].seq)
            event = (now + float(rng.integers(0, 20)), seq, int(rng.integers(N_EVENT_KINDS)),
                     int(rng.integers(1000)), int(rng.integers(1000)))
            events.push_event(queue, event[0], *event[2:])
            pending.append(event)
    assert popped > 5_000 and queue.g[0].heap_n > 0
    assert events.earliest(queue)[0] == min(pending)[0]


def test_a_full_lane_sends_the_next_events_to_the_heap(queue):
    """A lane holds LANE_SIZE events; more of its kind, in time order, go to the heap and still
    come out in time order, then scheduling order."""
    kind = events.LANE_KINDS[0]
    n = events.LANE_SIZE + 100
    for i in range(n):
        events.push_event(queue, float(i // 2), kind, i, i)
    assert queue.g[0].heap_n == 100
    out = [int(events.pop(queue, events.earliest(queue)[1])[3]) for _ in range(n)]
    assert out == list(range(n))
