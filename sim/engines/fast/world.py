"""The World: every array of one replication in one struct, and how the request path compiles
against it (jit): without numba's reference counts."""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import cgutils, imputils, types
from numba.core.datamodel import default_manager, models
from numba.core.extending import infer_getattr, lower_getattr_generic, lower_setattr_generic
from numba.core.typing.templates import AttributeTemplate
from numba.experimental import structref

# The World: every array of one replication, in one struct passed by reference. (A NamedTuple
# of arrays would be copied, with a reference count per array, at every call.)
FIELDS = (
    "g", "c", "ops",
    "node",         # the stations, as sim.engines.station.Station
    "apps",         # [app, 0] its workers' station, [app, 1] its cores'
    "rot",          # app indices in rotation, g.n_rot of them
    "redis", "readers", "shards", "lbs",  # station indices by role
    "tiers",        # sim.model.path.TIERS: their stations and settings
    "rq", "free_slots",
    "heap_t", "heap_i",  # the event heap: times; [i, 0 seq | 1 kind | 2 slot | 3 rid]
    "lane_t", "lane_i", "lane_n",  # event lanes: times; [lane, i, 0 seq | 1 slot | 2 rid]; [lane, head | tail]
    "pools", "cursor", "const",  # [pool, i] samples in seconds; next sample; NaN or a constant
    "arr_t", "arr_op",           # the arrivals drawn so far and not yet run
    # books
    "free",         # [station, server] when each server of a FIFO station is next free
    "st_hist",      # [station, bucket] sojourn histogram
    "busy",         # [station, second] servers busy, integrated over each second
    "queue",        # [station, second] requests waiting, integrated over each second
    "bins",         # [arrived | done | failed | slow, bin]
    "reasons",      # failed requests by reason, after the warm-up
    "hist",         # [0 all | 1 before the first failure | 2 + op, bucket], after the warm-up
    "hist_s",       # sums of the same latencies
    "step_hist",    # [step, bucket] latencies completed in each step, warm-up included
    "incident",     # [0 time | 1 latency, i] completions around the first failure
    "redis_acks",   # ring: times the Redis master applied acknowledged writes
    "pg_acks",      # ring: PostgreSQL commits
    "breaker",      # [0 time | 1 opened (1) or closed (0), i]
    "req_log",      # [rid, column] the first requests (sim.engines.fast.books.log_request)
    # scratch of the calm stretches (sim.engines.fast.bulk), columns named in sim.engines.fast.stages
    "cand_t",          # [candidate, T_*] its times and service times, seconds
    "cand_response",   # [candidate] when its response reaches the client (NaN: not yet known)
    "cand_at",         # [candidate, OP | APP | *_STATION | DB_POOL] where it goes
    "cand_hash",       # [candidate] its session's hash
    "cand_broke",      # [candidate] 1: it broke a rule of the calm path (waited, timed out)
    "stage_order",     # [stage, j] the candidates in the order they reach the stage
    "stage_count",     # [0 taken | 1 reached, stage]
    "reply_t", "reply_commands",  # the Redis replies in the order they come back, the commands
                                  # each acknowledges written (0: none)
    "scratch_free",    # as `free`, for pass 1
    "worker_release",  # [app, i] a min-heap of the release times of the workers taken
    "workers_taken",   # [app] how many workers the stretch has taken
    "cursor_before",   # [pool] the cursors when the stretch began
    "hop_visits",      # [op, hop] the visits of each hop by the requests kept
    "hop_draws",       # [op, hop, pool] the samples one visit draws (sim.model.path.HOPS)
    "most_draws")      # [pool] the most samples one request of a calm stretch draws from it


def jit(**options):
    """numba.njit as the request path compiles: cached, and without the runtime's reference
    counts, which cost more than the work of most steps. Nothing compiled this way allocates;
    the World and its arrays stay alive in Python while it runs. What Python calls first counts
    references (sim.engines.fast.kernel.advance)."""
    return njit(cache=True, _nrt=False, **options)


class WorldType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


# structref.register, except that reading a field needs no runtime (functions built by jit()).
default_manager.register(WorldType, models.StructRefModel)
# NRT's MemInfo: refct, dtor, dtor_info, then the data pointer (numba/core/runtime/nrt.cpp)
_MEMINFO = ir.LiteralStructType([cgutils.intp_t, cgutils.voidptr_t, cgutils.voidptr_t, cgutils.voidptr_t])


@infer_getattr
class _WorldAttribute(AttributeTemplate):
    key = WorldType

    def generic_resolve(self, typ, attr):
        return typ.field_dict.get(attr)


def _fields(context, builder, typ, val):
    meminfo = cgutils.create_struct_proxy(typ)(context, builder, value=val).meminfo
    data = builder.load(cgutils.gep(builder, builder.bitcast(meminfo, _MEMINFO.as_pointer()), 0, 3))
    payload = context.data_model_manager[typ.get_data_type()].get_value_type()
    return cgutils.create_struct_proxy(typ.get_data_type())(
        context, builder, ref=builder.bitcast(data, payload.as_pointer()))


@lower_getattr_generic(WorldType)
def _world_getattr(context, builder, typ, val, attr):
    value = getattr(_fields(context, builder, typ, val), attr)
    return imputils.impl_ret_borrowed(context, builder, typ.field_dict[attr], value)


@lower_setattr_generic(WorldType)
def _world_setattr(context, builder, sig, args, attr):
    """Only the constructor sets fields (with reference counts, as structref does)."""
    (typ, val_type), (instance, val) = sig.args, args
    fields = _fields(context, builder, typ, instance)
    new = context.cast(builder, val, val_type, typ.field_dict[attr])
    context.nrt.incref(builder, val_type, new)
    context.nrt.decref(builder, val_type, getattr(fields, attr))
    setattr(fields, attr, new)


class World(structref.StructRefProxy):
    """What the compiled code gets; Python reads the same arrays through State."""

    def __new__(cls, *arrays):
        return _new_world(*arrays)  # structref's own constructor is compiled anew in each process


structref.define_proxy(World, WorldType, list(FIELDS))


@njit(cache=True)
def _new_world(*arrays):
    return World(*arrays)


class State:
    """The arrays of one replication by name, and the World that shares them."""

    def __init__(self, arrays: dict):
        self.arrays = arrays
        self.world = World(*[arrays[name] for name in FIELDS])

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    def replace(self, **arrays) -> "State":
        """A State with some arrays replaced (grown, or new arrivals), the others shared."""
        return State(self.arrays | arrays)
