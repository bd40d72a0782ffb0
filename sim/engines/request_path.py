"""The request path: how one request queues and is served, tier by tier, as a SimPy process.

user -> the balancer holding the floating IP (a connection held to the end) -> an app server's
worker (CPU on a core) -> the session store (Redis master, the session's DB shard, or PostgreSQL
when the circuit breaker is open) and PostgreSQL -> response. Timeouts, queue limits and failed
nodes turn into failed requests, counted by reason, instead of unbounded queues.
"""
from __future__ import annotations

import simpy

from sim.model import path
from sim.engines.breaker import CircuitBreaker
from sim.engines.control import ControlPlane
from sim.engines.metrics import Recorder
from sim.engines.replication import WriteLog
from sim.model.schema import Scenario
from sim.engines.streams import Sampler, Streams


class Failed(Exception):
    """A request that cannot complete; the reason, one of the path's (sim.model.path), is counted."""

    def __init__(self, reason: str):
        if reason not in _REASONS:
            raise KeyError(f"{reason!r} is not a failure reason of sim.model.path")
        super().__init__(reason)


_REASONS = frozenset(path.REASONS)


class RequestPath:
    def __init__(self, env: simpy.Environment, scenario: Scenario, control: ControlPlane,
                 streams: Streams, recorder: Recorder):
        self.env, self.control, self.rec = env, control, recorder
        t, mech = scenario.topology, scenario.mechanisms
        self.lb_cfg, self.hc = t.load_balancers, mech.health_check
        self.redis_cfg, self.repl, self.pgf = t.redis, mech.replication, mech.pg_failover
        self.db_cfg = t.db_fleet or t.postgres
        self.ops = scenario.workload.operations
        named = path.streams(t, self.ops)
        # the path's streams by pool name ("net_redis", "db_read"...), each sampled in seconds
        self.draw = {s.pool: Sampler(named[s.name], streams.rng(s.name)) for s in path.STREAMS
                     if named.get(s.name) is not None and s.pool != "repl"}
        self.cpu = {name: Sampler(op.cpu, streams.rng(path.cpu_stream(name)))
                    for name, op in self.ops.items()}
        self.session_hash = streams.rng(path.STREAM["route"].name)
        self.cache_cfg, self.cache_key = t.memcached, streams.rng(path.STREAM["cache_key"].name)
        self.redis_log = WriteLog()  # session writes acknowledged by the Redis master
        self.pg_log = WriteLog()     # commits acknowledged by the PostgreSQL primary
        self.breaker = CircuitBreaker(mech.circuit_breaker, control)

    def handle(self, op_name: str):
        """The request process."""
        env, rec = self.env, self.rec
        t0 = env.now
        rid = rec.arrive(t0, op_name)
        try:
            yield from self._through_lb(op_name, rid)
        except Failed as failure:
            rec.fail(str(failure), env.now)
            rec.ended(rid, env.now, str(failure))
        else:
            rec.complete(op_name, t0, env.now, self.ops[op_name].session_write)
            rec.ended(rid, env.now, "ok")

    def _through_lb(self, op_name: str, rid: int):
        env, lb = self.env, self.control.vip_holder
        if lb is None or lb.state == "crashed":
            raise Failed("no_load_balancer")
        if lb.state == "hung":
            yield env.timeout(self.lb_cfg.timeout_connect_s)
            raise Failed("lb_timeout")
        since, epoch = env.now, lb.epoch
        conn = yield from lb.acquire(self.lb_cfg.timeout_queue_s)
        if isinstance(conn, str):
            raise Failed("lb_queue")
        try:
            yield env.timeout(self.draw["lb"]())
            yield from self._to_app(op_name, rid)
        finally:
            lb.release(conn, since)
        if lb.epoch != epoch:  # the balancer died holding the connection: no response
            raise Failed("lb_lost")

    def _to_app(self, op_name: str, rid: int):
        """HAProxy: a refused connection is retried after a turn-around of min(timeout connect,
        1 s), on the same server unless `option redispatch` moves the last retry elsewhere."""
        env, hc = self.env, self.hc
        app = None
        for attempt in range(hc.retries + 1):
            if app is None or (hc.redispatch and attempt == hc.retries):
                app = self.control.pick_app()
                self.rec.routed(rid, app)
            if app is None:
                raise Failed("no_app_server")
            if app.workers.state == "hung":
                yield env.timeout(self.lb_cfg.timeout_server_s)
                raise Failed("app_timeout")
            if app.workers.state == "up":
                yield from self._in_app(app, op_name)
                return
            if attempt < hc.retries:
                yield env.timeout(min(self.lb_cfg.timeout_connect_s, path.RETRY_TURNAROUND_S))
        raise Failed("app_refused")

    def _in_app(self, app, op_name: str):
        env, op = self.env, self.ops[op_name]
        half_rtt = self.draw["net_app"]() / 2
        yield env.timeout(half_rtt)
        since, epoch = env.now, app.workers.epoch
        worker = yield from app.workers.acquire(self.lb_cfg.timeout_server_s)
        if isinstance(worker, str):
            raise Failed("app_queue")
        try:
            if (yield from app.cpu.serve(self.cpu[op_name]())) != "ok":
                raise Failed("app_lost")
            u = self.session_hash.random()
            if op.session_commands:
                yield from self._session_call(op, u)
            for _ in range(op.db_reads):
                if not (yield from self._cache_hit()):
                    yield from self._db_call(self.control.db_reader(u), "db_read", "db_read")
            for _ in range(op.db_writes):
                yield from self._db_call(self.control.db_writer(u), "db_write", "db_write")
                if not self.control.nodes.shards:
                    if self.pgf.synchronous:  # the commit waits for a standby's flush
                        yield env.timeout(self.pgf.lag_ms / 1000)
                    self.pg_log.ack(env.now)
        finally:
            app.workers.release(worker, since)
        if app.workers.epoch != epoch:
            raise Failed("app_lost")
        yield env.timeout(half_rtt)

    def _session_call(self, op, u: float):
        control = self.control
        if control.nodes.shards:  # db_fleet: one statement and its commit
            yield from self._db_call(control.session_store(u), "db_write" if op.session_write
                                     else "db_read", "db_session")
            return
        if not self.breaker.allows(self.env.now):  # fallback: the session row in PostgreSQL
            self.rec.fallbacks += 1
            yield from self._db_call(control.pg_primary, "db_write" if op.session_write
                                     else "db_read", "fallback")
            return
        try:
            trips = [op.session_commands] if op.pipelined else [1] * op.session_commands
            master = control.redis_master
            for commands in trips:
                yield from self._redis_call(master, commands, op.session_write)
            if op.session_write:
                yield from self._replicated(master, op.session_commands)
        except Failed:
            self.breaker.failure(self.env.now)
            raise
        self.breaker.success()

    def _redis_call(self, master, commands: int, write: bool):
        if master is None:
            raise Failed("redis_down")
        if write and self.repl.min_replicas_to_write > self.control.good_replicas():
            raise Failed("redis_noreplicas")  # Redis refuses writes: min-replicas-to-write
        env = self.env
        deadline = env.now + self.redis_cfg.socket_timeout_s
        half_rtt = self.draw["net_redis"]() / 2
        yield env.timeout(half_rtt)
        service = self.draw["redis_rt"]() + sum(self.draw["redis_cmd"]() for _ in range(commands))
        status = yield from self._answer(master, service, deadline, half_rtt)
        if status != "ok":
            raise Failed(f"redis_{status}")

    def _replicated(self, master, commands: int):
        """The write is acknowledged; with WAIT n, only once n replicas have it, and not at all
        if the master dies first. The log keeps the time the master applied it."""
        env = self.env
        applied_at, epoch = env.now, master.epoch
        if self.repl.wait_replicas:
            if self.control.good_replicas() < self.repl.wait_replicas:
                yield env.timeout(self.redis_cfg.socket_timeout_s)
                raise Failed("redis_wait_timeout")
            yield env.timeout(self.repl.lag_ms / 1000)
            if master.epoch != epoch:
                raise Failed("redis_lost")
        self.redis_log.ack(applied_at, commands)

    def _cache_hit(self):
        """Cache-aside: a read asks Memcached first. One uniform draw names the key's node and
        whether it holds the value (the hit ratio); a miss, or a node that is down or answers
        after the client's timeout, leaves the read to the database."""
        nodes = self.control.nodes.tiers.get("memcached")
        if not nodes:
            return False
        env, cfg = self.env, self.cache_cfg
        deadline, v = env.now + cfg.timeout_s, self.cache_key.random() * len(nodes)
        half_rtt = self.draw["net_cache"]() / 2
        yield env.timeout(half_rtt)
        status = yield from self._answer(nodes[int(v)], self.draw["cache_get"](), deadline, half_rtt)
        return status == "ok" and v - int(v) < cfg.hit_ratio

    def _answer(self, node, service_s: float, deadline: float, half_rtt: float):
        """A call that reached a FIFO node, from a client that gives up at `deadline`: the
        node's answer once its reply is back ("ok", or at once "refused", "timeout", "lost"), or
        "timeout" at the deadline if the reply would not be back before it. The node serves the
        call either way (a command sent is executed)."""
        env = self.env
        served = env.process(node.serve(service_s, deadline - env.now))
        yield served | env.timeout(deadline - half_rtt - env.now)
        if not served.triggered:  # the reply would be back at or after the deadline
            yield env.timeout(half_rtt)
            return "timeout"
        if served.value == "ok":
            yield env.timeout(half_rtt)
        return served.value

    def _db_call(self, server, pool: str, what: str):
        """A call to a database: `pool` its service's stream, `what` its failure reasons' prefix."""
        if server is None:
            raise Failed(f"{what}_down")
        half_rtt = self.draw["net_db"]() / 2
        yield self.env.timeout(half_rtt)
        status = yield from server.serve(self.draw[pool](), self.db_cfg.pool_timeout_s)
        if status != "ok":
            raise Failed(f"{what}_{status}")
        yield self.env.timeout(half_rtt)
