"""PostgreSQL: the document's session write, in a schema of our own that is dropped after.

The schema `sessionsim_calib` is created for the run and dropped at the end (also after
Ctrl-C). If it already exists we refuse, unless --force, which drops and recreates it: the
name is ours, so an existing one is a leftover of an interrupted run.

Service time: PostgreSQL runs one backend process per connection, so it is not a single
server queue and "1 / saturation throughput" has no meaning for one write. We record the
time of one committed write at concurrency 1 (its `samples`, in ms, and their mean); the
saturation throughput is the highest throughput measured (the Python client's concurrencies,
and pgbench's when it is installed), and `effective_servers` = saturation throughput x that
write time (Little's law at saturation), bounded by the clients that reached it: how many of
the simulator's parallel connections (topology.postgres.connections) this server is worth for
this write. Every figure is measured once per round (rounds.py) and carries its interval.
"""
from __future__ import annotations

from . import cleanup, measure, pgbench, rounds
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


class Session:
    """Our schema for the length of a calibration (dropped on exit, also when interrupted),
    and the session write measured round by round (rounds.py): round() once per round,
    summary() at the end."""

    def __init__(self, url: str, force: bool, n_rows: int = 10_000):
        self.url, self.force, self.n_rows = url, force, n_rows
        self.runs: dict[tuple, list] = {}
        self.bench: dict[str, list] = {name: [] for name in MODES}

    def __enter__(self) -> Session:
        self.admin = connect_postgres(self.url)
        try:
            self.version = self.admin.info.parameter_status("server_version")
            self.tokens = create_schema(self.admin, self.n_rows, self.force)
        except BaseException:
            self.admin.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            with cleanup.shielded():
                drop_schema_noted(self.admin, mask_url(self.url))
        finally:
            self.admin.close()

    def round(self, concurrencies: list[int], duration_s: float, step) -> None:
        for name, setting in MODES.items():
            def connect(setting=setting):
                return connect_postgres(self.url, search_path=SCHEMA,
                                        synchronous_commit=setting)
            for c in sorted(set(concurrencies) | {1}):
                step(f"postgres {name} c={c}")
                result = measure.run_load(connect, pg_session_write(self.tokens), c, duration_s)
                self.runs.setdefault((name, c), []).append(result)
            if pgbench.available():
                step(f"postgres {name} pgbench c={pgbench.CLIENTS}")
                self.bench[name].append(pgbench.tps(self.url, setting, self.n_rows,
                                                    duration_s))

    def summary(self, concurrencies: list[int]) -> dict:
        operations = {name: _summarise_mode(name, {c: self.runs[(name, c)]
                                                   for c in sorted(set(concurrencies) | {1})},
                                            concurrencies, self.bench[name])
                      for name in MODES}
        return {"target": mask_url(self.url), "server_version": self.version, "schema": SCHEMA,
                "rows": self.n_rows, "bytes_per_row": bytes_per_row(self.admin, self.n_rows),
                "operations": operations}


def _summarise_mode(name: str, runs: dict[int, list], concurrencies: list[int],
                    bench: list[float]) -> dict:
    """Figures with their intervals over the rounds. Capacity (saturation throughput) is the
    best of the Python client's concurrencies and pgbench's (when installed: the Python client
    tops out well below what the server can commit); effective_servers = capacity x the
    one-client write time (Little's law at saturation), never above the clients that reached
    that capacity: a figure the measurement cannot support is not reported."""
    by_concurrency = {}
    for c in concurrencies:
        by_concurrency[str(c)] = measure.public(rounds.pooled(runs[c]))
        by_concurrency[str(c)]["rounds"] = rounds.per_round(runs[c])
    n_rounds = len(runs[1])
    c1_means = [float(r["latencies_s"].mean()) if r["ops"] else 0.0 for r in runs[1]]
    capacity, clients, source = [], [], []
    for k in range(n_rounds):
        best_c = max(concurrencies, key=lambda c: runs[c][k]["throughput_ops_s"])
        options = [(runs[best_c][k]["throughput_ops_s"], best_c, "python client")]
        if bench and bench[k] is not None:
            options.append((bench[k], pgbench.CLIENTS, "pgbench"))
        best = max(options)
        capacity.append(best[0])
        clients.append(best[1])
        source.append(best[2])
    servers = [min(cap * mean_s, n) for cap, mean_s, n in zip(capacity, c1_means, clients)]
    c1 = rounds.pooled(runs[1])
    c1_mean_s = float(c1["latencies_s"].mean()) if c1["ops"] else 0.0
    cap = rounds.interval(capacity, 1)
    eff = rounds.interval(servers, 2, ceiling=max(clients))  # more is not what was measured
    return {"commands": 1, "synchronous_commit": MODES[name],
            "unpipelined": {"by_concurrency": by_concurrency},
            "saturation_throughput_ops_s": cap["mean"],
            "capacity_measured_by": sorted(set(source)),
            "pgbench_tps": rounds.interval(bench, 1) if bench else None,
            "effective_servers": eff["mean"],
            "effective_servers_bound": max(clients),
            "service_time_ms": {"mean": round(c1_mean_s * 1000, 4),
                                "method": "concurrency_1_write_time",
                                "samples": measure.service_time(c1["latencies_s"], 0.0,
                                                                c1_mean_s)},
            "rounds": {"saturation_throughput_ops_s": cap, "effective_servers": eff,
                       "service_time_ms": rounds.interval([m * 1000 for m in c1_means])}}
