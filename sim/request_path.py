"""The request path: how one request queues and is served, tier by tier, as a SimPy process.

user -> active load balancer (a connection held to the end) -> app server worker (CPU on a core)
-> session store (Redis master or the session's DB shard) and PostgreSQL -> response.
Timeouts and queue limits turn overload into failed requests instead of unbounded queues.
"""
from __future__ import annotations

import simpy

from sim.control import ControlPlane
from sim.metrics import Recorder
from sim.schema import Scenario
from sim.streams import Sampler, Streams


class Failed(Exception):
    """A request that cannot complete; the reason is counted."""


class RequestPath:
    def __init__(self, env: simpy.Environment, scenario: Scenario, control: ControlPlane,
                 streams: Streams, recorder: Recorder):
        self.env, self.control, self.rec = env, control, recorder
        t = scenario.topology
        self.lb_cfg = t.load_balancers
        self.redis_cfg = t.redis
        self.db_cfg = t.db_fleet or t.postgres
        self.ops = scenario.workload.operations
        s = lambda name, dist: Sampler(dist, streams.rng(f"service/{name}"))  # noqa: E731
        self.lb_service = s("lb", self.lb_cfg.service)
        self.cpu = {name: s(f"cpu/{name}", op.cpu) for name, op in self.ops.items()}
        net = t.network
        self.rtt = {"app": s("net/lb-app", net.lb_app_rtt), "redis": s("net/app-redis", net.app_redis_rtt),
                    "db": s("net/app-db", net.app_db_rtt)}
        if self.redis_cfg:
            self.redis_rt = s("redis/roundtrip", self.redis_cfg.roundtrip_service)
            self.redis_cmd = s("redis/command", self.redis_cfg.command_service)
        if self.db_cfg:
            self.db_write = s("db/write", self.db_cfg.write_service)
            self.db_read = s("db/read", self.db_cfg.read_service)
        self.session_hash = streams.rng("route/session")
        self.redis_commands_written = 0  # the replication stream's length, in commands

    def handle(self, op_name: str):
        """The request process."""
        env, rec = self.env, self.rec
        t0 = env.now
        rec.arrive(t0)
        try:
            yield from self._through_lb(op_name)
        except Failed as failure:
            rec.fail(str(failure), env.now)
        else:
            rec.complete(op_name, t0, env.now, self.ops[op_name].session_write)

    def _through_lb(self, op_name: str):
        lb = self.control.vip_holder
        if lb is None or not lb.up:
            raise Failed("no_load_balancer")
        since = self.env.now
        conn = yield from lb.acquire(self.lb_cfg.timeout_queue_s)
        if conn is None:
            raise Failed("lb_queue")
        try:
            yield self.env.timeout(self.lb_service())
            yield from self._in_app(op_name)
        finally:
            lb.release(conn, since)

    def _in_app(self, op_name: str):
        app = self.control.pick_app()
        if app is None:
            raise Failed("no_app_server")
        env, op = self.env, self.ops[op_name]
        half_rtt = self.rtt["app"]() / 2
        yield env.timeout(half_rtt)
        since = env.now
        worker = yield from app.workers.acquire(self.lb_cfg.timeout_server_s)
        if worker is None:
            raise Failed("app_queue")
        try:
            if not (yield from app.cpu.serve(self.cpu[op_name]())):
                raise Failed("app_cpu")
            u = self.session_hash.random()
            if op.session_commands:
                yield from self._session_call(op, u)
            for _ in range(op.db_reads):
                yield from self._db_call(self.control.db_reader(u), self.db_read)
            for _ in range(op.db_writes):
                yield from self._db_call(self.control.db_writer(u), self.db_write)
        finally:
            app.workers.release(worker, since)
        yield env.timeout(half_rtt)

    def _session_call(self, op, u: float):
        store = self.control.session_store(u)
        if self.control.nodes.shards:  # db_fleet: one statement and its commit
            yield from self._db_call(store, self.db_write if op.session_write else self.db_read)
            return
        trips = [op.session_commands] if op.pipelined else [1] * op.session_commands
        for commands in trips:
            yield from self._redis_call(store, commands)
        if op.session_write:
            self.redis_commands_written += op.session_commands

    def _redis_call(self, master, commands: int):
        if master is None or not master.up:
            raise Failed("redis_down")
        env = self.env
        t0 = env.now
        half_rtt = self.rtt["redis"]() / 2
        timeout = self.redis_cfg.socket_timeout_s
        yield env.timeout(half_rtt)
        service = self.redis_rt() + sum(self.redis_cmd() for _ in range(commands))
        if not (yield from master.serve(service, timeout - half_rtt)):
            raise Failed("redis_timeout")
        yield env.timeout(half_rtt)
        if env.now - t0 > timeout:  # the reply came after the client's socket timeout
            raise Failed("redis_timeout")

    def _db_call(self, server, sampler):
        if server is None or not server.up:
            raise Failed("db_down")
        half_rtt = self.rtt["db"]() / 2
        yield self.env.timeout(half_rtt)
        if not (yield from server.serve(sampler(), self.db_cfg.pool_timeout_s)):
            raise Failed("db_pool_timeout")
        yield self.env.timeout(half_rtt)
