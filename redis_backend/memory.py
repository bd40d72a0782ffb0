"""Bytes per session and per cart, from INFO memory before and after writing N of them.

The figure includes everything Redis spends on a key: the key string, the HASH (a listpack
at these sizes), the dict entries, and the TTL entry in the expires dict. Our keys carry a
per-run prefix ("ssim:<8 hex>:"), about 14 bytes longer than the document's
"session:abc123xyz"; `key_bytes` is reported so a reader can correct for it.
"""
from __future__ import annotations

import time

import redis

from .keys import KeySpace
from .operations import CART_TTL_S, SESSION_TTL_S, cart_fields, session_fields

BATCH = 1000


def _used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _write(client: redis.Redis, names: list[str], fields_of, ttl_s: int) -> None:
    now = time.time()
    for start in range(0, len(names), BATCH):
        pipe = client.pipeline(transaction=False)
        for i, name in enumerate(names[start:start + BATCH], start):
            pipe.hset(name, mapping=fields_of(i, now))
            pipe.expire(name, ttl_s)
        pipe.execute()


def bytes_per_key(client: redis.Redis, names: list[str], fields_of, ttl_s: int) -> float:
    before = _used_memory(client)
    _write(client, names, fields_of, ttl_s)
    after = _used_memory(client)
    _delete_all(client, names)
    return (after - before) / len(names)


def _delete_all(client: redis.Redis, names: list[str]) -> None:
    for start in range(0, len(names), BATCH):
        client.delete(*names[start:start + BATCH])


def measure_memory(client: redis.Redis, ks: KeySpace, n_sessions: int) -> dict:
    sessions = [ks.key("session", f"mem{i:07d}") for i in range(n_sessions)]
    carts = [ks.key("cart", f"mem{i:07d}") for i in range(n_sessions)]
    per_session = bytes_per_key(client, sessions, session_fields, SESSION_TTL_S)
    per_cart = bytes_per_key(client, carts, lambda i, now: cart_fields(i), CART_TTL_S)
    return {"bytes_per_session": round(per_session, 1), "bytes_per_cart": round(per_cart, 1),
            "sessions_measured": n_sessions, "key_bytes": len(sessions[0]),
            "session_payload_bytes": sum(len(k) + len(v)
                                         for k, v in session_fields(0, time.time()).items())}
