"""A queueing station: a SimPy resource with the books kept for utilisation, queue and sojourn."""
from __future__ import annotations

import simpy

from sim.engines.histogram import LogHistogram


class Station:
    """`capacity` servers in parallel, a FIFO queue, optional queue limit; time-weighted counts.

    `busy_area` and `queue_area` integrate servers busy and requests waiting over time; with
    `arrivals`, `departures` and `sojourn_s` they give utilisation and Little's law per node.
    """

    def __init__(self, env: simpy.Environment, name: str, kind: str, capacity: int,
                 queue_limit: int | None = None):
        self.env, self.name, self.kind, self.capacity = env, name, kind, capacity
        self.queue_limit = queue_limit
        self.resource = simpy.Resource(env, capacity)
        # up | crashed | hung (a partitioned node looks hung to its clients) | off (not provisioned)
        self.state = "up"
        self.slow_factor = 1.0
        self.epoch = 0     # bumped by a crash or hang: work begun before it is lost
        self.changed_at = 0.0
        self.busy_area = self.queue_area = 0.0
        self._last = env.now
        self.arrivals = self.departures = self.rejected = self.abandoned = self.waited = 0
        self.sojourn_s = 0.0
        self.latency = LogHistogram()
        self._watchers: list[simpy.Event] = []

    def _account(self):
        now = self.env.now
        dt = now - self._last
        if dt:
            res = self.resource
            self.busy_area += dt * len(res.users)
            self.queue_area += dt * len(res.queue)
            self._last = now

    @property
    def up(self) -> bool:
        return self.state == "up"

    def set_state(self, state: str, slow_factor: float = 1.0):
        if state in ("crashed", "hung", "off"):
            self.epoch += 1
        self.state, self.slow_factor, self.changed_at = state, slow_factor, self.env.now
        watchers, self._watchers = self._watchers, []
        for event in watchers:
            event.succeed()

    def state_change(self) -> simpy.Event:
        """An event that fires at the station's next change of state (a watcher, not a poll)."""
        event = self.env.event()
        self._watchers.append(event)
        return event

    @property
    def in_system(self) -> int:
        return len(self.resource.users) + len(self.resource.queue)

    def acquire(self, timeout_s: float | None = None):
        """Generator: waits for a server; returns the granted request, or why not as a string:
        "refused" (the queue is full) or "timeout" (waited timeout_s)."""
        self._account()
        self.arrivals += 1
        res = self.resource
        if self.queue_limit is not None and len(res.queue) >= self.queue_limit \
                and len(res.users) >= self.capacity:
            self.rejected += 1
            return "refused"
        req = res.request()
        if req.triggered:  # a free server: granted at once, no event needed
            return req
        self.waited += 1
        if timeout_s is None:
            yield req
            return req
        yield req | self.env.timeout(timeout_s)
        if req.triggered:
            return req
        self._account()
        req.cancel()
        self.abandoned += 1
        return "timeout"

    def release(self, req, since: float):
        self._account()
        self.resource.release(req)
        self.departures += 1
        sojourn = self.env.now - since
        self.sojourn_s += sojourn
        self.latency.record(sojourn)

    def serve(self, service_s: float, timeout_s: float | None = None):
        """Generator: queue, hold a server for service_s, leave. Returns "ok", or why not:
        "refused" (crashed, or queue full), "timeout" (hung, or waited too long), "lost"
        (the node crashed or hung while the request was in it)."""
        if self.state in ("crashed", "off"):
            return "refused"
        if self.state == "hung":
            yield self.env.timeout(timeout_s) if timeout_s is not None else self.env.event()
            return "timeout"
        since, epoch = self.env.now, self.epoch
        req = yield from self.acquire(timeout_s)
        if isinstance(req, str):
            return req
        if self.epoch == epoch:
            yield self.env.timeout(service_s * self.slow_factor)
        self.release(req, since)
        return "ok" if self.epoch == epoch else "lost"

    def snapshot(self) -> dict:
        """Cumulative counters now; the difference of two snapshots covers an interval."""
        self._account()
        return {"busy_area": self.busy_area, "queue_area": self.queue_area,
                "arrivals": self.arrivals, "departures": self.departures,
                "rejected": self.rejected, "abandoned": self.abandoned, "waited": self.waited,
                "sojourn_s": self.sojourn_s}
