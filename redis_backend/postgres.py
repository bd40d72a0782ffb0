"""PostgreSQL: the document's session write, in a schema of our own that is dropped after.

The schema `sessionsim_calib` is created for the run and dropped at the end (also after
Ctrl-C). If it already exists we refuse, unless --force, which drops and recreates it: the
name is ours, so an existing one is a leftover of an interrupted run.

Service time: PostgreSQL runs one backend process per connection, so it is not a single
server queue and "1 / saturation throughput" has no meaning for one write. We record the
time of one committed write at concurrency 1 (its `samples`, in ms, and their mean); the
saturation throughput is the highest throughput over the concurrencies measured, and
`effective_servers` = saturation throughput x that write time (Little's law at saturation):
how many of the simulator's parallel connections (topology.postgres.connections) this server
is worth for this write.
"""
from __future__ import annotations

from typing import Callable

from . import cleanup, measure
from .operations import pg_session_write
from .target import BackendError, connect_postgres, mask_url

SCHEMA = "sessionsim_calib"
MODES = {"session_write_sync": "on", "session_write_async": "off"}


class SchemaExistsError(BackendError):
    pass


def schema_exists(conn, schema: str = SCHEMA) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        found = cur.fetchone() is not None
    conn.commit()
    return found


def create_schema(conn, n_rows: int, force: bool, schema: str = SCHEMA) -> list[str]:
    """Create schema + user_sessions with n_rows sessions; return the session tokens."""
    if schema_exists(conn, schema):
        if not force:
            raise SchemaExistsError(f"schema {schema!r} already exists in the target "
                                    "database; refusing to touch it (use --force to drop "
                                    "and recreate it)")
        drop_schema(conn, schema)
    with conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(f"""CREATE TABLE {schema}.user_sessions (
            session_token text PRIMARY KEY, user_id integer NOT NULL,
            username text, email text, last_activity timestamptz NOT NULL,
            current_page text, page_views integer NOT NULL DEFAULT 0,
            login_time timestamptz NOT NULL)""")
        cur.execute(f"""INSERT INTO {schema}.user_sessions
            SELECT 'tok' || lpad(g::text, 7, '0'), 10000 + g, 'john_doe',
                   'john@example.com', now(), '/products/laptop-123', 15,
                   now() - interval '1 hour'
            FROM generate_series(0, %s - 1) AS g""", (n_rows,))
        cur.execute(f"ANALYZE {schema}.user_sessions")
    conn.commit()
    return [f"tok{i:07d}" for i in range(n_rows)]


def drop_schema(conn, schema: str = SCHEMA) -> None:
    conn.rollback()  # leave any aborted transaction first
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.commit()


def drop_schema_noted(conn, target: str, schema: str = SCHEMA) -> None:
    """drop_schema, with what happened in the cleanup ledger (and how to finish it)."""
    try:
        drop_schema(conn, schema)
    except Exception as exc:
        cleanup.note(f"could not drop our schema {schema} in {target} ({type(exc).__name__}); "
                     f"drop it with `python simulate.py calibrate --cleanup --redis URL "
                     f"--postgres {target}`")
        raise
    cleanup.note(f"dropped our schema {schema} in {target}")


def bytes_per_row(conn, n_rows: int, schema: str = SCHEMA) -> float:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_total_relation_size(%s)", (f"{schema}.user_sessions",))
        size = cur.fetchone()[0]
    conn.commit()
    return round(size / n_rows, 1)


def measure_postgres(url: str, concurrencies: list[int], duration_s: float, force: bool,
                     n_rows: int = 10_000, on_step: Callable[[str], None] | None = None) -> dict:
    admin = connect_postgres(url)
    try:
        version = admin.info.parameter_status("server_version")
        tokens = create_schema(admin, n_rows, force)
        try:
            operations = {name: _measure_mode(url, tokens, setting, concurrencies,
                                              duration_s, on_step, name)
                          for name, setting in MODES.items()}
            row_bytes = bytes_per_row(admin, n_rows)
        finally:
            with cleanup.shielded():
                drop_schema_noted(admin, mask_url(url))
    finally:
        admin.close()
    return {"target": mask_url(url), "server_version": version, "schema": SCHEMA,
            "rows": n_rows, "bytes_per_row": row_bytes, "operations": operations}


def _measure_mode(url: str, tokens: list[str], synchronous_commit: str,
                  concurrencies: list[int], duration_s: float, on_step, name: str) -> dict:
    def connect():
        return connect_postgres(url, search_path=SCHEMA,
                                synchronous_commit=synchronous_commit)

    op = pg_session_write(tokens)
    by_concurrency, c1 = {}, None
    for c in concurrencies:
        if on_step:
            on_step(f"postgres {name} c={c}")
        result = measure.run_load(connect, op, c, duration_s)
        by_concurrency[str(c)] = measure.public(result)
        if c == 1:
            c1 = result
    if c1 is None:
        c1 = measure.run_load(connect, op, 1, duration_s)
    c1_mean_s = float(c1["latencies_s"].mean()) if c1["ops"] else 0.0
    best = max(v["throughput_ops_s"] for v in by_concurrency.values())
    return {"commands": 1, "synchronous_commit": synchronous_commit,
            "unpipelined": {"by_concurrency": by_concurrency},
            "saturation_throughput_ops_s": best,
            "effective_servers": round(best * c1_mean_s, 2),
            "service_time_ms": {"mean": round(c1_mean_s * 1000, 4),
                                "method": "concurrency_1_write_time",
                                "samples": measure.service_time(c1["latencies_s"], 0.0,
                                                                c1_mean_s)}}
