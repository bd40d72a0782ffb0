"""One replication on the fast engine: the SimPy control plane, the request path compiled.

The control plane steps event by event. When a step changes anything the request path reads
(roles, rotation, node states), the compiled path is first brought up to that moment with the
old answers, then given the new ones. A mechanism that reads the request path's books (a write
log, the autoscaler's probe) brings it up to the control plane's clock first.
"""
from __future__ import annotations

import numpy as np

from sim.engines import breaker, mechanisms
from sim.engines.failures import inject
from sim.engines.fast import build, kernel, results
from sim.engines.fast.build import BULK
from sim.engines.fast.inputs import POOL, Pools, pool_streams
from sim.engines.fast.layout import IN_WORKER_QUEUE
from sim.engines.results import Replication
from sim.engines.setup import arrival_stream, setup
from sim.model.schema import Scenario

LOAD_AHEAD_S = 300.0


class WriteLog:
    """sim.engines.replication.WriteLog's reading side, over the compiled path's ring of ack times."""

    def __init__(self, driver, ring: str):
        self.driver, self.ring = driver, ring

    def between(self, t0: float, t1: float) -> tuple[int, float]:
        self.driver.catch_up()
        times = getattr(self.driver.w, self.ring)
        inside = times[(times > t0) & (times <= t1)]
        return len(inside), (t1 - inside.min()) if len(inside) else 0.0


def _grown(a: np.ndarray, keep: int, size: int) -> np.ndarray:
    grown = np.empty(size, a.dtype)
    grown[:keep] = a[:keep]
    return grown


class Driver:
    """Brings the compiled request path up to a time, feeding it arrivals and samples."""

    def __init__(self, env, state, arrivals, pools: Pools, control, nodes, stations):
        self.env, self.w, self.arrivals, self.pools = env, state, arrivals, pools
        self.control, self.nodes, self.stations = control, nodes, stations
        self.loaded_to = 0.0
        self.budget = POOL - int(state.c["reserve"][0])
        # room for a load of arrivals at the peak rate, so that the buffers are rarely grown
        most = int(np.max(arrivals.curve[1]) * (LOAD_AHEAD_S + arrivals.CHUNK_S) * 1.1) + 1024
        self.w = self.w.replace(arr_t=np.empty(most), arr_op=np.empty(most, np.int64))
        self.redis_log, self.pg_log = WriteLog(self, "redis_acks"), WriteLog(self, "pg_acks")

    def catch_up(self):
        self.advance(self.env.now)

    def advance(self, until: float):
        g = self.w.g
        g["ctl_until"] = until
        while g["now"][0] < until:
            if self.loaded_to <= g["now"][0]:
                self._load()
            while kernel.advance(self.w.world, min(until, self.loaded_to), self.budget) != kernel.DONE:
                self._service()
        self._breaker_events()

    def _load(self):
        """The next arrivals, LOAD_AHEAD_S of them (calm stretches end where the arrivals do),
        into the same buffers each time: all the arrivals loaded before have run."""
        n, times, ops = 0, self.w.arr_t, self.w.arr_op
        while True:
            chunk, chunk_ops, self.loaded_to = self.arrivals.next_chunk()
            if n + len(chunk) > len(times):
                times, ops = _grown(times, n, 2 * (n + len(chunk))), _grown(ops, n, 2 * (n + len(chunk)))
            times[n:n + len(chunk)], ops[n:n + len(chunk)] = chunk, chunk_ops
            n += len(chunk)
            if self.loaded_to >= self.w.g["now"][0] + LOAD_AHEAD_S or self.arrivals.done:
                break
        if times is not self.w.arr_t:
            self.w = self.w.replace(arr_t=times, arr_op=ops)
        self.w.g["next_arr"], self.w.g["n_arr"], self.w.g["bulk_after"] = 0, n, 0

    def _service(self):
        """Refills the sample pools and grows whatever buffer is short of room."""
        w = self.w
        g = w.g
        if g["drawn"][0] >= self.budget or g["make_room"][0]:
            self.pools.refill()
            g["drawn"] = 0
        grown = {}
        if g["heap_n"][0] + kernel.MARGIN >= len(w.heap_t):
            grown["heap_t"] = np.concatenate([w.heap_t, np.zeros_like(w.heap_t)])
            grown["heap_i"] = np.concatenate([w.heap_i, np.zeros_like(w.heap_i)])
        if g["free_n"][0] < kernel.MARGIN:
            n, free_n = len(w.rq), g["free_n"][0]
            grown["rq"] = np.concatenate([w.rq, np.zeros_like(w.rq)])
            grown["rq"]["rid"][n:] = -1
            free = np.zeros(2 * n, np.int64)
            free[:free_n] = w.free_slots[:free_n]
            free[free_n:free_n + n] = np.arange(2 * n - 1, n - 1, -1)
            grown["free_slots"] = free
            g["free_n"] += n
        if g["n_inc"][0] + kernel.MARGIN + (BULK if g["make_room"][0] else 0) >= w.incident.shape[1]:
            grown["incident"] = np.concatenate([w.incident, np.zeros_like(w.incident)], axis=1)
        if grown:
            self.w = w.replace(**grown)
        g["make_room"] = 0
        self._breaker_events()

    def _breaker_events(self):
        g, log = self.w.g, self.w.breaker
        for t, opened in log[:, :g["n_brk"][0]].T:
            for source, text, mark in breaker.OPENED if opened else breaker.CLOSED:
                self.control.events.append((float(t), source, text, mark))
        g["n_brk"] = 0

    def probe(self) -> dict:
        """The autoscaler's reading (the reference engine's probe): the app servers' cumulative books."""
        self.catch_up()
        w, now = self.w, self.env.now
        st, busy, queue, rq, apps = w.node, w.busy, w.queue, w.rq, w.apps
        rq = rq[(rq["rid"] >= 0) & (rq["waits"] == IN_WORKER_QUEUE)]
        waiting = {}
        for app, since in zip(rq["app"], rq["w_since"]):
            waiting[app] = waiting.get(app, 0.0) + now - since  # waits not yet in the books
        out = {"cpu": {}, "queue": {}, "in_system": {}}
        for i, app in enumerate(self.nodes.apps):
            workers, cpu = apps[i]
            out["cpu"][app.name] = float(busy[cpu].sum())
            out["queue"][app.name] = float(queue[workers].sum()) + waiting.get(i, 0.0)
            out["in_system"][app.name] = int(st["in_use"][workers] + st["qlen"][workers])
        g = w.g
        return out | {"completed": int(g["completed"][0]), "latency_s": float(g["latency_s"][0])}


def run_replication(scenario: Scenario, replication: int, progress=None,
                    bulk: bool = True) -> Replication:
    """The same raw figures as sim.engines.reference.run_replication, from the compiled request path;
    `bulk`: calm stretches without the event queue (sim.engines.fast.bulk), the same figures faster."""
    sim = scenario.simulation
    env, streams, nodes, control, rec = setup(scenario, replication)
    stations = nodes.stations()
    arrivals = arrival_stream(scenario, streams)
    pools = Pools(streams, pool_streams(scenario))
    state = build.state(scenario, nodes, stations, rec, pools, arrivals.names, bulk)
    driver = Driver(env, state, arrivals, pools, control, nodes, stations)
    build.mirror(driver.w, control, nodes, stations)
    mechanisms.start(env, scenario, nodes, control, driver, streams, driver.probe)
    for failure in scenario.failures:
        env.process(inject(env, failure, scenario, control, nodes, driver.redis_log))
    seen = build.fingerprint(control, stations)
    app_servers: list[int] = []
    while (t := env.peek()) < sim.duration_s:
        while len(app_servers) < t:  # the running app servers each second, after its events
            app_servers.append(sum(a.running for a in nodes.apps))
            if progress:
                progress(len(app_servers) - 1)
        env.step()
        now = build.fingerprint(control, stations)
        if now != seen:
            driver.advance(t)
            build.mirror(driver.w, control, nodes, stations)
            seen = now
    driver.advance(sim.duration_s)
    app_servers += [sum(a.running for a in nodes.apps)] * (int(np.ceil(sim.duration_s)) - len(app_servers))
    kernel.close_books(driver.w.world)
    control.events.sort(key=lambda e: e[0])
    return results.raw(scenario, driver.w, rec, control, nodes, stations, arrivals.names,
                       app_servers)
