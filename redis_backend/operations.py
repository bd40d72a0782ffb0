"""The design's workload operations, as Redis command lists and as the PostgreSQL write.

Each Redis operation is a list of commands for one session token, so the same list can be
sent pipelined (one round trip) or one command at a time. Pipelines are sent with
transaction=False: the document's `redis.pipeline()` would wrap them in MULTI/EXEC, but the
figure to calibrate is "4 commands, 1 round trip", not the transaction.
"""
from __future__ import annotations

import time

import redis

from .keys import KeySpace

SESSION_TTL_S = 3600
CART_TTL_S = 86_400
VIEWED_KEEP = 25  # the book keeps the 25 most recently viewed items per token
PAGES = ("/products/laptop-123", "/products/mouse-456", "/cart", "/checkout", "/home")

Command = tuple


def session_fields(n: int, now: float) -> dict[str, str]:
    """The document's session HASH, with its realistic field sizes."""
    return {"user_id": str(10_000 + n % 90_000), "username": "john_doe",
            "email": "john@example.com", "last_activity": f"{now:.3f}",
            "current_page": PAGES[n % len(PAGES)], "page_views": "15",
            "login_time": f"{now - 3456.666:.3f}"}


def cart_fields(n: int) -> dict[str, str]:
    return {"item:1": "laptop-123|2|$999.99", "item:2": "mouse-456|1|$29.99",
            "total_items": "3", "total_value": "1029.97"}


def session_update(ks: KeySpace, tok: str, n: int, now: float) -> list[Command]:
    key = ks.key("session", tok)
    return [("HSET", key, "last_activity", f"{now:.3f}"),
            ("HSET", key, "current_page", PAGES[n % len(PAGES)]),
            ("HINCRBY", key, "page_views", 1),
            ("EXPIRE", key, SESSION_TTL_S)]


def login(ks: KeySpace, tok: str, n: int, now: float) -> list[Command]:
    key = ks.key("session", tok)
    fields = [x for pair in session_fields(n, now).items() for x in pair]
    return [("HSET", key, *fields),
            ("EXPIRE", key, SESSION_TTL_S),
            ("HSET", ks.key("login"), tok, f"user{n}"),
            ("ZADD", ks.key("recent"), f"{now:.3f}", tok)]


def item_view(ks: KeySpace, tok: str, n: int, now: float) -> list[Command]:
    """The book's update_token() when an item is viewed."""
    item = f"item:{n % 1000}"
    viewed = ks.key("viewed", tok)
    return [("HSET", ks.key("login"), tok, f"user{n}"),
            ("ZADD", ks.key("recent"), f"{now:.3f}", tok),
            ("ZADD", viewed, f"{now:.3f}", item),
            ("ZREMRANGEBYRANK", viewed, 0, -(VIEWED_KEEP + 1)),
            ("ZINCRBY", ks.key("viewed"), -1, item)]


def cart_update(ks: KeySpace, tok: str, n: int, now: float) -> list[Command]:
    key = ks.key("cart", tok)
    return [("HSET", key, f"item:{n % 5 + 1}", "laptop-123|2|$999.99"),
            ("HINCRBY", key, "total_items", 1),
            ("HSET", key, "total_value", "1029.97"),
            ("EXPIRE", key, CART_TTL_S)]


def read_only(ks: KeySpace, tok: str, n: int, now: float) -> list[Command]:
    return [("HGETALL", ks.key("session", tok))]


def checkout(ks: KeySpace, tok: str, n: int, now: float) -> list[Command]:
    """The Redis half of an order: the cart read, then cleared (the order goes to PostgreSQL)."""
    key = ks.key("cart", tok)
    return [("HGETALL", key), ("DEL", key)]


# Measured in this order: read_only needs the sessions that login created.
REDIS_OPERATIONS = {"login": login, "session_update": session_update,
                    "item_view": item_view, "cart_update": cart_update,
                    "read_only": read_only}
# What a replay can send: the simulator's default operations by name (sim/model/schema.py).
REPLAY_OPERATIONS = {**REDIS_OPERATIONS, "checkout": checkout}


def seed_sessions(client: redis.Redis, ks: KeySpace, tokens: list[str]) -> None:
    """Before the load: every token gets its session (a login), and every key an operation
    writes without an EXPIRE of its own (the book's shared `login`, `recent` and `viewed`
    indexes, each token's `viewed:<token>`) is created here with one, which the writes that
    follow keep. So every key of ours expires even if the run is SIGKILLed. (One gap remains:
    a cart deleted by a checkout and re-created by an unpipelined cart_update has no TTL for
    the round trip between its HSET and its EXPIRE.)"""
    pipe = client.pipeline(transaction=False)
    for n, tok in enumerate(tokens):
        for cmd in login(ks, tok, n, time.time()):
            pipe.execute_command(*cmd)
        viewed = ks.key("viewed", tok)
        pipe.zadd(viewed, {"seed": 0})
        pipe.expire(viewed, SESSION_TTL_S)
    pipe.zadd(ks.key("viewed"), {"seed": 0})
    for shared in ("login", "recent", "viewed"):
        pipe.expire(ks.key(shared), SESSION_TTL_S)
    pipe.execute()


def send(client: redis.Redis, commands: list[Command], pipelined: bool) -> None:
    if pipelined:
        pipe = client.pipeline(transaction=False)
        for cmd in commands:
            pipe.execute_command(*cmd)
        pipe.execute()
    else:
        for cmd in commands:
            client.execute_command(*cmd)


def redis_op(name: str, ks: KeySpace, tokens: list[str], pipelined: bool):
    """A callable(client, n) performing operation `name` on token n % len(tokens)."""
    build = REPLAY_OPERATIONS[name]

    def run(client: redis.Redis, n: int) -> None:
        send(client, build(ks, tokens[n % len(tokens)], n, time.time()), pipelined)
    return run


# The document's relational session write, committed (its "Disk I/O + WAL + Index updates").
PG_SESSION_WRITE = ("UPDATE user_sessions SET last_activity = now(), "
                    "page_views = page_views + 1, current_page = %s "
                    "WHERE session_token = %s")


def pg_session_write(tokens: list[str]):
    def run(conn, n: int) -> None:
        with conn.cursor() as cur:
            cur.execute(PG_SESSION_WRITE, (PAGES[n % len(PAGES)], tokens[n % len(tokens)]))
        conn.commit()
    return run
