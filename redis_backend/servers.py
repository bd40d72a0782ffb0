"""Start and stop real redis-server, redis-sentinel and postgres processes on loopback.

Every server binds 127.0.0.1 on a free port, keeps its files in a directory of its own,
and is stopped by its PID (never by name). Used by the tests and by the failover lab.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import cleanup
from .target import BackendError

LOOPBACK = "127.0.0.1"
PG_BIN_DIRS = ("/usr/local/bin", "/usr/lib/postgresql/15/bin")


class ServerError(BackendError):
    """A local server could not be started."""


@dataclass
class Server:
    kind: str
    port: int
    proc: subprocess.Popen
    work_dir: Path
    owned_dirs: list[Path] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        if self.kind == "postgres":
            return f"postgresql://postgres@{LOOPBACK}:{self.port}/postgres"
        return f"redis://{LOOPBACK}:{self.port}/0"

    def stop(self, timeout_s: float = 10.0) -> None:
        stop_pid(self.proc, timeout_s)
        for d in self.owned_dirs:
            shutil.rmtree(d, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in PG_BIN_DIRS:
        path = Path(d) / name
        if path.exists():
            return str(path)
    return None


def stop_pid(proc: subprocess.Popen, timeout_s: float = 10.0) -> None:
    """SIGTERM (and SIGCONT, in case the lab SIGSTOPped it), then SIGKILL if needed."""
    if proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGCONT):
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            return
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout_s)


def _wait_for_port(proc: subprocess.Popen, port: int, timeout_s: float, log: Path) -> None:
    """Returns once the port answers; otherwise (also when interrupted) stops proc, raises."""
    try:
        _poll_port(proc, port, timeout_s, log)
    except BaseException:
        with cleanup.shielded():
            stop_pid(proc)
        raise


def _poll_port(proc: subprocess.Popen, port: int, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise ServerError(f"server exited with code {proc.returncode}: {tail.strip()}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise ServerError(f"server did not listen on {LOOPBACK}:{port} within {timeout_s} s")


def start_redis(work_dir: Path, *args: str, binary: str = "redis-server") -> Server:
    """A redis-server with no persistence; extra args e.g. ('--requirepass', 'x')."""
    exe = find_binary(binary)
    if exe is None:
        raise ServerError(f"{binary} not found on PATH")
    port = free_port()
    work_dir = Path(work_dir) / f"redis-{port}"
    work_dir.mkdir(parents=True)
    log = work_dir / "redis.log"
    cmd = [exe, "--port", str(port), "--bind", LOOPBACK, "--dir", str(work_dir),
           "--save", "", "--appendonly", "no", "--daemonize", "no",
           "--logfile", str(log), *args]
    with cleanup.shielded():  # no signal between the fork and our holding its PID
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_port(proc, port, 10.0, log)
    return Server("redis", port, proc, work_dir)


def start_sentinel(work_dir: Path, master_port: int, settings: dict) -> Server:
    """A redis-sentinel monitoring 'mymaster' on loopback; settings use the lab's keys."""
    exe = find_binary("redis-sentinel") or find_binary("redis-server")
    if exe is None:
        raise ServerError("redis-sentinel not found on PATH")
    port = free_port()
    work_dir = Path(work_dir) / f"sentinel-{port}"
    work_dir.mkdir(parents=True)
    log = work_dir / "sentinel.log"
    conf = work_dir / "sentinel.conf"  # Sentinel rewrites its config: must be writable
    conf.write_text("\n".join([
        f"port {port}", f"bind {LOOPBACK}", "daemonize no", f"dir {work_dir}",
        f"logfile {log}",
        f"sentinel monitor mymaster {LOOPBACK} {master_port} {settings['quorum']}",
        f"sentinel down-after-milliseconds mymaster {settings['down_after_ms']}",
        f"sentinel failover-timeout mymaster {settings['failover_timeout_ms']}",
        f"sentinel parallel-syncs mymaster {settings['parallel_syncs']}", ""]))
    args = [exe, str(conf)] if exe.endswith("sentinel") else [exe, str(conf), "--sentinel"]
    with cleanup.shielded():
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_port(proc, port, 10.0, log)
    return Server("sentinel", port, proc, work_dir)


def _postgres_user() -> dict:
    """postgres refuses to run as root; when we are root, run it as the 'postgres' user."""
    if os.geteuid() != 0:
        return {}
    try:
        return {"user": pwd.getpwnam("postgres").pw_uid}
    except KeyError as exc:
        raise ServerError("running as root and no 'postgres' user exists to run postgres") from exc


def start_postgres(work_dir: Path | None = None) -> Server:
    """initdb + postgres (trust auth, loopback only) in a fresh directory."""
    initdb, postgres = find_binary("initdb"), find_binary("postgres")
    if initdb is None or postgres is None:
        raise ServerError("PostgreSQL binaries (initdb, postgres) not found")
    run_as = _postgres_user()
    # A directory of our own in /tmp: the postgres user must be able to reach it.
    base = Path(tempfile.mkdtemp(prefix="sessionsim-pg-"))
    if run_as:
        os.chown(base, run_as["user"], -1)
    data = base / "data"
    done = subprocess.run([initdb, "-D", str(data), "-U", "postgres", "-A", "trust",
                           "--no-sync", "-E", "UTF8"], capture_output=True, text=True, **run_as)
    if done.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise ServerError(f"initdb failed: {done.stderr.strip()[-500:]}")
    port = free_port()
    log = base / "postgres.log"
    log_fd = open(log, "w")
    if run_as:
        os.chown(log, run_as["user"], -1)
    with cleanup.shielded():
        proc = subprocess.Popen([postgres, "-D", str(data), "-p", str(port), "-k", str(base),
                                 "-c", f"listen_addresses={LOOPBACK}"],
                                stdout=log_fd, stderr=subprocess.STDOUT, **run_as)
    log_fd.close()
    try:
        _wait_for_port(proc, port, 30.0, log)
    except BaseException:
        with cleanup.shielded():
            stop_pid(proc)
            shutil.rmtree(base, ignore_errors=True)
        raise
    _wait_pg_ready(port)
    return Server("postgres", port, proc, base, owned_dirs=[base])


def _wait_pg_ready(port: int, timeout_s: float = 30.0) -> None:
    """The port opens before recovery finishes; wait until a connection is accepted."""
    import psycopg
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg.connect(host=LOOPBACK, port=port, user="postgres", dbname="postgres",
                            connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
