"""Fixtures that start real servers on 127.0.0.1 (free port, temp dir, stopped by PID).

A missing binary skips the test, except with CI=true, where it fails: CI must run these."""
import os

import pytest
import redis

from redis_backend import servers

CALIBRATION_DB = 15


def missing(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the backend tests must run, not skip)")
    pytest.skip(reason)


def require(*binaries: str) -> None:
    for name in binaries:
        if servers.find_binary(name) is None:
            missing(f"{name} is not installed")


@pytest.fixture
def redis_server(tmp_path):
    require("redis-server")
    server = servers.start_redis(tmp_path)
    yield server
    server.stop()


REDIS_PASSWORD = "s3cretPW-xyz"


@pytest.fixture
def redis_with_password(tmp_path):
    """A redis-server with requirepass; the password is exposed as .password."""
    require("redis-server")
    server = servers.start_redis(tmp_path, "--requirepass", REDIS_PASSWORD)
    server.password = REDIS_PASSWORD
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    return f"redis://{servers.LOOPBACK}:{redis_server.port}/{CALIBRATION_DB}"


@pytest.fixture
def redis_client(redis_server):
    client = redis.Redis(host=servers.LOOPBACK, port=redis_server.port, db=CALIBRATION_DB,
                         decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def postgres_server():
    require("initdb", "postgres")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg is not installed")
    server = servers.start_postgres()
    yield server
    server.stop()


@pytest.fixture
def sentinel_binaries():
    require("redis-server", "redis-sentinel")


@pytest.fixture
def fast_args() -> list[str]:
    """Short runs keep the whole backend suite within a couple of minutes."""
    return ["--duration-s", "0.3", "--concurrency", "1,4", "--memory-sessions", "2000",
            "--rounds", "2"]



CALIBRATE_ARGS = ["--duration-s", "0.5", "--concurrency", "1,4", "--memory-sessions", "2000",
                  "--rounds", "3"]


@pytest.fixture(scope="session")
def calibrated(tmp_path_factory):
    """One real Redis and one short calibration of it, shared by the session's tests:
    (server, url of DB 15, path of calibration.json)."""
    require("redis-server")
    from redis_backend.cli import main
    work = tmp_path_factory.mktemp("calibrated")
    server = servers.start_redis(work)
    url = f"redis://{servers.LOOPBACK}:{server.port}/{CALIBRATION_DB}"
    try:
        assert main(["calibrate", "--redis", url, "--out", str(work / "cal"),
                     *CALIBRATE_ARGS]) == 0
        yield server, url, work / "cal" / "calibration.json"
    finally:
        server.stop()
