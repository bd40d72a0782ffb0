"""The fast engine's state: record arrays with named fields, shared by the compiled functions.

Codes (station states, event kinds, failure reasons) are module constants, frozen into the
compiled code; failure reasons and sample pools are those of the request path's description
(sim.model.path), by name.
"""
from __future__ import annotations

import numpy as np

from sim.model.path import CALL_OUTCOMES, DB_CALLS, POOLS, REASONS, reason_code

# station states, as sim.engines.station.Station.state
UP, CRASHED, HUNG, OFF = 0, 1, 2, 3
STATE_CODE = {"up": UP, "crashed": CRASHED, "hung": HUNG, "off": OFF}

# events: what a request does at the event's time
(EV_LB_GRANTED, EV_WORKER, EV_WORKER_GRANTED, EV_RETRY, EV_CPU_DONE, EV_REDIS_AT, EV_REDIS_BACK,
 EV_ACKED, EV_CALL_AT, EV_CALL_BACK, EV_PG_SYNCED, EV_RESPONSE, EV_FAIL,
 EV_QUEUE_TIMER, N_EVENT_KINDS) = range(15)  # EV_QUEUE_TIMER: a station's, not a request's

# where a request waits, for the books at the end of the run
NOWHERE, IN_LB_QUEUE, IN_WORKER_QUEUE = 0, 1, 2

# what a DB call is for; its failure reasons are DB_REASONS + OUTCOMES x that + the call's outcome
DB_SESSION, DB_READ, DB_WRITE, FALLBACK = (DB_CALLS.index(c) for c in ("db_session", "db_read",
                                                                        "db_write", "fallback"))
DB_REASONS = reason_code("db_session_down")
# Station.serve outcomes, in the order of CALL_OUTCOMES
DOWN, REFUSED, TIMEOUT, LOST = (CALL_OUTCOMES.index(o) for o in ("down", "refused", "timeout", "lost"))
OUTCOMES = len(CALL_OUTCOMES)
assert REASONS[DB_REASONS:DB_REASONS + len(DB_CALLS) * len(CALL_OUTCOMES)] == tuple(
    f"{c}_{o}" for c in DB_CALLS for o in CALL_OUTCOMES)

(NO_LB, LB_TIMEOUT, LB_QUEUE, LB_LOST, NO_APP, APP_TIMEOUT, APP_QUEUE, APP_LOST, APP_REFUSED,
 REDIS_DOWN, REDIS_NOREPLICAS, REDIS_REFUSED, REDIS_TIMEOUT, REDIS_LOST, REDIS_WAIT) = map(reason_code, (
    "no_load_balancer", "lb_timeout", "lb_queue", "lb_lost", "no_app_server", "app_timeout",
    "app_queue", "app_lost", "app_refused", "redis_down", "redis_noreplicas", "redis_refused",
    "redis_timeout", "redis_lost", "redis_wait_timeout"))

STATION = np.dtype([
    ("cap", "i8"), ("in_use", "i8"), ("qhead", "i8"), ("qtail", "i8"), ("qlen", "i8"),
    ("qlimit", "i8"),                  # -1: no limit
    # a held station's queue times out FIFO: one timer, at its head's deadline
    ("patience_s", "f8"), ("timeout_reason", "i8"), ("timer_t", "f8"),
    ("state", "i8"), ("epoch", "i8"), ("bump_t", "f8"), ("slow", "f8"),
    ("linked", "i8"),                  # a Redis replica streaming from the master
    ("batch_t", "f8"), ("batch_s", "f8"),  # a replica's open batch: its tick time and work
    # books over the measured window, as sim.engines.station.Station's counters
    ("arrivals", "i8"), ("departures", "i8"), ("rejected", "i8"), ("abandoned", "i8"),
    ("waited", "i8"), ("sojourn_s", "f8"), ("hist_s", "f8"), ("busy_s", "f8"), ("queue_s", "f8")], align=True)

REQUEST = np.dtype([
    ("rid", "i8"),                     # -1: a free slot
    ("op", "i8"), ("t0", "f8"), ("u", "f8"),
    ("waits", "i8"), ("q_since", "f8"), ("nxt", "i8"),  # in a held station's queue
    ("lb", "i8"), ("lb_ep", "i8"), ("lb_grant", "f8"),
    ("app", "i8"), ("attempt", "i8"), ("app_half_s", "f8"),
    ("w_ep", "i8"), ("w_since", "f8"), ("w_grant", "f8"),
    ("step", "i8"),                    # SESSION, READS or WRITES
    ("k", "i8"),                       # trips or DB calls done in the step
    # the call in progress: its station (the Redis master for all its trips), the station's
    # epoch on arrival, when it began, half its round trip, its departure, what it is for
    ("call_st", "i8"), ("call_ep", "i8"), ("call_t0", "f8"), ("half_s", "f8"), ("call_dep", "f8"),
    ("call_what", "i8"), ("call_pool", "i8"), ("acked_t", "f8"), ("reason", "i8"),
    ("call_u", "f8"),                  # a tier's call: its uniform draw (which node, a cache hit)
    ], align=True)
SESSION, READS, WRITES = 0, 1, 2


# a tier of sim.model.path.TIERS: its stations node[first:first + count] (count 0: absent), its
# client's timeout, the parameter of its rule
TIER = np.dtype([("first", "i8"), ("count", "i8"), ("timeout_s", "f8"), ("param", "f8")], align=True)

OPERATION = np.dtype([("cpu_pool", "i8"), ("commands", "i8"), ("pipelined", "i8"),
                      ("write", "i8"), ("db_reads", "i8"), ("db_writes", "i8")], align=True)

GLOBALS = np.dtype([
    ("now", "f8"), ("until", "f8"), ("heap_n", "i8"), ("seq", "i8"), ("free_n", "i8"), ("rid", "i8"),
    ("next_arr", "i8"), ("n_arr", "i8"),
    ("vip", "i8"), ("master", "i8"), ("primary", "i8"), ("good_replicas", "i8"), ("n_rot", "i8"),
    ("rr_app", "i8"), ("rr_read", "i8"),
    ("brk_state", "i8"), ("brk_consec", "i8"), ("brk_trial", "i8"), ("brk_opened", "f8"),
    ("n_brk", "i8"), ("fallbacks", "i8"), ("writes", "i8"), ("completed", "i8"), ("latency_s", "f8"),
    ("redis_acks", "i8"), ("redis_commands", "i8"), ("pg_acks", "i8"), ("n_inc", "i8"),
    ("drawn", "i8"),                   # samples drawn since the pools were last refilled
    ("ctl_until", "f8"),               # the control plane may change the topology from then on
    # calm stretches (sim.engines.fast.bulk): one wants the pools refilled and room for its incident
    # samples; none is tried before this arrival; the requests that ran in them
    ("make_room", "i8"), ("bulk_after", "i8"), ("bulk_n", "i8")], align=True)

CONFIG = np.dtype([
    ("retries", "i8"), ("redispatch", "i8"), ("leastconn", "i8"),
    ("connect_s", "f8"), ("server_s", "f8"), ("lb_queue_s", "f8"), ("socket_s", "f8"),
    ("pool_s", "f8"), ("min_replicas", "i8"), ("wait_replicas", "i8"), ("wait_lag_s", "f8"),
    ("pg_sync", "i8"), ("pg_lag_s", "f8"), ("shards", "i8"),
    ("brk_on", "i8"), ("brk_threshold", "i8"), ("brk_reset_s", "f8"), ("tick_s", "f8"),
    ("warmup_s", "f8"), ("duration_s", "f8"), ("bin_s", "f8"), ("slow_s", "f8"), ("step_s", "f8"),
    ("n_steps", "i8"), ("failure_at", "f8"), ("inc_from", "f8"), ("inc_to", "f8"),
    ("reserve", "i8"),                 # samples each pool keeps for the next request
    # calm stretches (sim.engines.fast.bulk): allowed at all; whether requests call Redis, write
    # sessions, call a database
    ("bulk", "i8"), ("bulk_redis", "i8"), ("bulk_write", "i8"), ("bulk_db", "i8"),
    # the sample pools of the path's streams (sim.model.path.STREAMS), by name
    *((f"p_{pool}", "i8") for pool in POOLS)], align=True)
