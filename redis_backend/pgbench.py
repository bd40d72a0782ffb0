"""PostgreSQL's capacity for the session write, measured by pgbench when it is installed:
a C client with CLIENTS connections commits far more per second than our Python one (the issue
saw 9k against 13.5-15.8k), so the server, not the client, is what is measured.

The credentials go to pgbench through libpq's environment (PGPASSWORD, ...), never on its
command line, where any user of the machine could read them. pgbench runs our UPDATE on our
own schema (search_path) with the round's synchronous_commit; it writes nothing else."""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

from .servers import find_binary

CLIENTS = 16
ENV = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
       "dbname": "PGDATABASE", "sslmode": "PGSSLMODE"}
SCRIPT = ("\\set n random(0, {last})\n"
          "UPDATE user_sessions SET last_activity = now(), page_views = page_views + 1, "
          "current_page = '/cart' WHERE session_token = 'tok' || lpad(:n::text, 7, '0');\n")


def available() -> bool:
    return find_binary("pgbench") is not None


def tps(url: str, synchronous_commit: str, n_rows: int, duration_s: float) -> float | None:
    """Committed session writes per second over max(1 s, duration_s); None if pgbench failed."""
    from psycopg.conninfo import conninfo_to_dict

    from .postgres import SCHEMA
    params = conninfo_to_dict(url)
    env = {**os.environ, **{ENV[k]: str(v) for k, v in params.items() if k in ENV},
           "PGOPTIONS": f"-c synchronous_commit={synchronous_commit} -c search_path={SCHEMA}",
           "PGCONNECT_TIMEOUT": "2"}
    seconds = max(1, round(duration_s))
    with tempfile.TemporaryDirectory(prefix="sessionsim-pgbench-") as d:
        script = Path(d) / "session_write.sql"
        script.write_text(SCRIPT.format(last=n_rows - 1))
        done = subprocess.run([find_binary("pgbench"), "-n", "-f", str(script),
                               "-c", str(CLIENTS), "-j", str(min(CLIENTS, os.cpu_count() or 1)),
                               "-T", str(seconds)], env=env, capture_output=True, text=True,
                              timeout=seconds + 30)
    found = re.search(r"tps = ([0-9.]+)", done.stdout)
    return float(found.group(1)) if done.returncode == 0 and found else None
