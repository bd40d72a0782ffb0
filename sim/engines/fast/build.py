"""The World of one replication (the scenario's constants, the stations, empty books), and the
mirror of the control plane's answers that the compiled code reads."""
from __future__ import annotations

import math
import operator

import numpy as np

from sim.model import path
from sim.engines.fast import layout as L
from sim.engines.fast import stages
from sim.engines.fast.books import LOG_COLUMNS
from sim.engines.fast.events import LANE_KINDS, LANE_SIZE
from sim.engines.fast.inputs import Pools
from sim.engines.fast.world import State
from sim.engines.histogram import NBUCKETS
from sim.engines.metrics import INCIDENT_SPAN_S
from sim.engines.replication import KEEP_S
from sim.model.workload import rate_curve

HOLDING = ("load_balancer", "app_server")  # held for a time not known on arrival


def config(scenario, pools: Pools, rec, op_names: list[str], bulk: bool) -> np.ndarray:
    t, mech, sim = scenario.topology, scenario.mechanisms, scenario.simulation
    hc, repl, brk, pgf = mech.health_check, mech.replication, mech.circuit_breaker, mech.pg_failover
    db = t.db_fleet or t.postgres
    ops = scenario.workload.operations
    most_commands = max(op.session_commands for op in ops.values())
    replicas = t.redis.replicas if t.redis else 0
    index = {f"p_{s.pool}": pools.index(s.name) if s.name in pools.names else 0 for s in path.STREAMS}
    c = np.zeros(1, L.CONFIG)
    values = dict(
        retries=hc.retries, redispatch=hc.redispatch, leastconn=t.load_balancers.balance == "leastconn",
        connect_s=t.load_balancers.timeout_connect_s, server_s=t.load_balancers.timeout_server_s,
        lb_queue_s=t.load_balancers.timeout_queue_s,
        socket_s=t.redis.socket_timeout_s if t.redis else math.inf,
        pool_s=db.pool_timeout_s if db else math.inf, min_replicas=repl.min_replicas_to_write,
        wait_replicas=repl.wait_replicas, wait_lag_s=repl.lag_ms / 1000, pg_sync=pgf.synchronous,
        pg_lag_s=pgf.lag_ms / 1000, shards=t.db_fleet is not None, brk_on=brk.enabled,
        brk_threshold=brk.failure_threshold, brk_reset_s=brk.reset_timeout_s,
        tick_s=t.redis.replication_tick_s if t.redis else 1.0,
        warmup_s=sim.warmup_s, duration_s=sim.duration_s, bin_s=rec.bin_s, slow_s=rec.slow_s,
        step_s=rec.step_s, n_steps=max(0, math.ceil(sim.duration_s / rec.step_s) - 1),
        failure_at=math.inf if rec.failure_at_s is None else rec.failure_at_s,
        inc_from=math.inf if rec.incident_from_s is None else rec.incident_from_s,
        inc_to=-math.inf if rec.incident_from_s is None else rec.incident_from_s + INCIDENT_SPAN_S,
        # the most any one event draws: a Redis trip's commands, or a write's replica batches
        reserve=8 + 2 * most_commands * (1 + replicas), **bulk_settings(scenario, bulk), **index)
    for key, value in values.items():
        c[key] = value
    return c


def bulk_settings(scenario, enabled: bool) -> dict:
    """Whether calm stretches may run in bulk (sim.engines.fast.bulk): requests on one path through
    stations each visited once, nothing waiting on another request's outcome."""
    t, mech = scenario.topology, scenario.mechanisms
    ops = scenario.workload.operations.values()
    ok = (enabled and t.db_fleet is None and t.load_balancers.balance == "roundrobin"
          and mech.replication.wait_replicas == 0 and not mech.pg_failover.synchronous
          and all(op.pipelined or op.session_commands <= 1 for op in ops)
          and all(op.db_reads + op.db_writes <= 1 for op in ops))
    return dict(bulk=ok, bulk_redis=any(op.session_commands for op in ops),
                bulk_write=any(op.session_write for op in ops),
                bulk_db=any(op.db_reads + op.db_writes for op in ops),
                )


def operations(scenario, pools: Pools, op_names: list[str]) -> np.ndarray:
    out = np.zeros(len(op_names), L.OPERATION)
    for i, name in enumerate(op_names):
        op = scenario.workload.operations[name]
        out[i] = (pools.index(path.cpu_stream(name)), op.session_commands, op.pipelined,
                  op.session_write, op.db_reads, op.db_writes)
    return out


def stations(stations_list, scenario) -> tuple[np.ndarray, int, int]:
    lbs = scenario.topology.load_balancers
    patience = {"load_balancer": (lbs.timeout_queue_s, L.LB_QUEUE), "app_server": (lbs.timeout_server_s, L.APP_QUEUE)}
    st = np.zeros(len(stations_list), L.STATION)
    st["cap"] = [s.capacity for s in stations_list]
    st["qhead"] = st["qtail"] = -1
    st["qlimit"] = [s.queue_limit if s.kind in HOLDING and s.queue_limit is not None else -1
                    for s in stations_list]
    st["timer_t"] = np.inf
    st["patience_s"] = [patience.get(s.kind, (np.inf, 0))[0] for s in stations_list]
    st["timeout_reason"] = [patience.get(s.kind, (np.inf, 0))[1] for s in stations_list]
    st["state"] = [L.STATE_CODE[s.state] for s in stations_list]
    st["epoch"] = [s.epoch for s in stations_list]
    st["bump_t"] = [s.changed_at for s in stations_list]
    st["slow"] = [s.slow_factor for s in stations_list]
    fifo_width = max([s.capacity for s in stations_list if s.kind not in HOLDING] or [1])
    seconds = math.ceil(scenario.simulation.duration_s) + 1
    return st, fifo_width, seconds


def incident_room(scenario, rec, peak_rps: float) -> int:
    """Every completion around the failure: room for the expected count (the engine doubles
    the buffer when it is short: sim.engines.fast.engine.Driver._service)."""
    if rec.incident_from_s is None:
        return 256
    expected = peak_rps * min(INCIDENT_SPAN_S, scenario.simulation.duration_s) * 1.25 + BULK
    return 1 << max(16, math.ceil(math.log2(expected)))


def books(scenario, rec, n_stations: int, fifo_width: int, seconds: int, n_ops: int) -> dict:
    sim = scenario.simulation
    peak_rps = float(np.max(rate_curve(scenario.workload.arrivals)[1]))
    ring = 1 << max(16, math.ceil(math.log2(peak_rps * KEEP_S * 1.5 + 1)))
    n_steps = max(1, math.ceil(sim.duration_s / rec.step_s) - 1)
    incident = incident_room(scenario, rec, peak_rps)
    return dict(free=np.zeros((n_stations, fifo_width)),
                st_hist=np.zeros((n_stations, NBUCKETS), np.int64),
                busy=np.zeros((n_stations, seconds)), queue=np.zeros((n_stations, seconds)),
                bins=np.zeros((4, len(rec.arrived)), np.int64),
                reasons=np.zeros(len(L.REASONS), np.int64),
                hist=np.zeros((2 + n_ops, NBUCKETS), np.int64), hist_s=np.zeros(2 + n_ops),
                step_hist=np.zeros((n_steps, NBUCKETS), np.int64),
                incident=np.zeros((2, incident)), redis_acks=np.full(ring, -np.inf),
                pg_acks=np.full(ring, -np.inf), breaker=np.zeros((2, 256)),
                req_log=np.full((sim.log_requests, LOG_COLUMNS), np.nan))


BULK = 1 << 18  # candidate requests of one calm stretch


def hop_draws(scenario, pools: Pools, op_names: list[str]) -> np.ndarray:
    """[op, hop, pool]: the samples one visit of a hop by a request of the operation draws from
    each pool, on the calm path (sim.model.path.HOPS)."""
    out = np.zeros((len(op_names), len(path.HOPS), len(pools.names)), np.int64)
    for o, name in enumerate(op_names):
        op = scenario.workload.operations[name]
        for h, hop in enumerate(path.HOPS):
            for pool, n in hop.draws(op).items():
                stream = path.cpu_stream(name) if pool == "cpu" else path.STREAM[pool].name
                if stream in pools.names:
                    out[o, h, pools.index(stream)] += n
    return out


def bulk_scratch(scenario, pools: Pools, n_stations: int, fifo_width: int, apps: int,
                 op_names: list[str]) -> dict:
    """The scratch arrays of sim.engines.fast.bulk, and the samples a request draws per pool: by hop,
    and the most one request draws, its replicas' batches included."""
    t = scenario.topology
    per_hop = hop_draws(scenario, pools, op_names)
    draws = per_hop.sum(axis=1).max(axis=0)
    if t.redis:
        commands = max(op.session_commands for op in scenario.workload.operations.values())
        draws[pools.index(path.STREAM["repl"].name)] = commands * t.redis.replicas
    return dict(most_draws=draws, hop_draws=per_hop, hop_visits=np.zeros(per_hop.shape[:2], np.int64),
                worker_release=np.zeros((apps, t.app_servers.workers)),
                workers_taken=np.zeros(apps, np.int64),
                cand_t=np.zeros((BULK, stages.N_T)), cand_response=np.zeros(BULK),
                cand_at=np.zeros((BULK, stages.N_AT), np.int64), cand_hash=np.zeros(BULK),
                cand_broke=np.zeros(BULK, np.int64),
                stage_order=np.zeros((stages.N_ORDERS, BULK), np.int64),
                stage_count=np.zeros((2, stages.N_ORDERS), np.int64), reply_t=np.zeros(BULK),
                reply_commands=np.zeros(BULK, np.int64), scratch_free=np.zeros((n_stations, fifo_width)),
                cursor_before=np.zeros(len(pools.names), np.int64))


def tiers(scenario, nodes, index: dict) -> np.ndarray:
    out = np.zeros(len(path.TIERS), L.TIER)
    for i, tier in enumerate(path.TIERS):
        stations = nodes.tiers.get(tier.name)
        if stations:
            cfg = tier.section(scenario.topology)
            out[i] = (index[id(stations[0])], len(stations), tier.timeout_s(cfg), tier.param(cfg))
    return out


def state(scenario, nodes, stations_list, rec, pools: Pools, op_names: list[str], bulk: bool) -> State:
    index = {id(s): i for i, s in enumerate(stations_list)}
    node, fifo_width, seconds = stations(stations_list, scenario)
    pg = nodes.postgres[1:1 + scenario.topology.postgres.read_replicas] if scenario.topology.postgres else []
    roles = dict(
        apps=np.array([[index[id(a.workers)], index[id(a.cpu)]] for a in nodes.apps], np.int64),
        rot=np.zeros(len(nodes.apps), np.int64),
        redis=np.array([index[id(s)] for s in nodes.redis], np.int64),
        readers=np.array([index[id(s)] for s in pg], np.int64),
        shards=np.array([index[id(s)] for s in nodes.shards], np.int64),
        lbs=np.array([index[id(s)] for s in nodes.lbs], np.int64), tiers=tiers(scenario, nodes, index))
    g = np.zeros(1, L.GLOBALS)
    slots = 1 << 12
    rq = np.zeros(slots, L.REQUEST)
    rq["rid"] = -1
    g["free_n"] = slots
    for key in ("vip", "master", "primary"):
        g[key] = -1
    arrays = dict(g=g, c=config(scenario, pools, rec, op_names, bulk), ops=operations(scenario, pools, op_names),
                  node=node, rq=rq, free_slots=np.arange(slots, dtype=np.int64)[::-1].copy(),
                  heap_t=np.zeros(1 << 12), heap_i=np.zeros((1 << 12, 4), np.int64),
                  lane_t=np.zeros((len(LANE_KINDS), LANE_SIZE)),
                  lane_i=np.zeros((len(LANE_KINDS), LANE_SIZE, 3), np.int64),
                  lane_n=np.zeros((len(LANE_KINDS), 2), np.int64), pools=pools.values, cursor=pools.cursor,
                  const=pools.const, arr_t=np.empty(0), arr_op=np.empty(0, np.int64),
                  **roles, **books(scenario, rec, len(stations_list), fifo_width, seconds, len(op_names)),
                  **bulk_scratch(scenario, pools, len(stations_list), fifo_width, len(nodes.apps),
                                 op_names))
    return State(arrays)


_READ = operator.attrgetter("state", "epoch", "slow_factor")


def fingerprint(control, stations_list) -> tuple:
    """Everything the request path reads of the control plane; it changes only at its events."""
    return (id(control.vip_holder), id(control.redis_master), id(control.pg_primary),
            tuple(map(id, control.in_rotation)), frozenset(map(id, control.linked)),
            tuple(map(_READ, stations_list)))


def mirror(w: State, control, nodes, stations_list):
    """Copies the control plane's answers into the world."""
    index = {id(s): i for i, s in enumerate(stations_list)}
    g = w.g
    g["vip"] = index.get(id(control.vip_holder), -1)
    g["master"] = index.get(id(control.redis_master), -1)
    g["primary"] = index.get(id(control.pg_primary), -1)
    g["good_replicas"] = control.good_replicas()
    apps = {id(a): i for i, a in enumerate(nodes.apps)}
    rot = [apps[id(a)] for a in control.in_rotation]
    w.rot[:len(rot)] = rot
    g["n_rot"] = len(rot)
    linked = set(map(id, control.linked))
    node = w.node
    for i, s in enumerate(stations_list):
        row = node[i]
        if row["epoch"] != s.epoch:
            row["bump_t"] = s.changed_at
        row["state"], row["epoch"], row["slow"] = L.STATE_CODE[s.state], s.epoch, s.slow_factor
        row["linked"] = id(s) in linked
