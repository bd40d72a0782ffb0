"""Target URLs: parsing, password masking, and connecting with bounded timeouts."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

CONNECT_TIMEOUT_S = 2.0
COMMAND_TIMEOUT_S = 5.0


class BackendError(RuntimeError):
    """A one-line, user-facing error: bad input, unreachable server, refused target."""


def refuse_existing(paths, force: bool):
    """Output files are never overwritten without --force."""
    for path in paths:
        if Path(path).exists() and not force:
            raise BackendError(f"{path} already exists; refusing to overwrite it (use --force)")


def mask_url(url: str) -> str:
    """The URL with any password replaced by '***' (also user-less 'redis://:pw@host')."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mask_secrets(text: str, secrets: list[str]) -> str:
    """Replace every non-empty secret in text; the last line of defence for printed errors."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def url_password(url: str) -> str | None:
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def parse_redis_url(url: str) -> dict:
    """host, port, db, username, password, ssl from redis[s]://[user:pw@]host[:port][/db]."""
    try:
        parts = urlsplit(url)
        port = parts.port or 6379
    except ValueError as exc:
        raise BackendError(f"bad --redis URL {mask_url(url)!r}: {exc}; "
                           "expected redis://[:password@]host:port/db") from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise BackendError(f"bad --redis URL {mask_url(url)!r}: "
                           "expected redis://[:password@]host:port/db")
    db_text = parts.path.strip("/") or "0"
    if not db_text.isdigit():
        raise BackendError(f"bad --redis URL {mask_url(url)!r}: database {db_text!r} "
                           "is not a number; expected redis://host:port/DB")
    return {"host": parts.hostname, "port": port, "db": int(db_text),
            "username": unquote(parts.username) if parts.username else None,
            "password": url_password(url), "ssl": parts.scheme == "rediss"}


def connect_redis(url: str, command_timeout_s: float = COMMAND_TIMEOUT_S) -> redis.Redis:
    """A client that has answered PING; BackendError (one line) if unreachable or refused.

    Retries are off: redis-py 8 retries up to 10 times by default, which would hide
    failures and distort timings."""
    params = parse_redis_url(url)
    client = redis.Redis(**params, socket_connect_timeout=CONNECT_TIMEOUT_S,
                         socket_timeout=command_timeout_s, retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        raise BackendError(f"Redis at {mask_url(url)} refused authentication: {exc}") from None
    except redis.ResponseError as exc:  # e.g. NOAUTH, or a DB index out of range
        raise BackendError(f"Redis at {mask_url(url)} refused: {exc}") from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        reason = mask_secrets(str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                              [params["password"] or ""])
        raise BackendError(f"cannot reach Redis at {mask_url(url)}: {reason}") from None
    return client


def connect_postgres(url: str, **session_settings: str):
    """A psycopg connection (autocommit off); BackendError if unreachable."""
    import psycopg
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        raise BackendError(f"bad --postgres URL {mask_url(url)!r}: "
                           "expected postgresql://user[:password]@host:port/dbname")
    try:
        conn = psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT_S))
    except (psycopg.Error, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = mask_secrets(first, [url_password(url) or ""])
        raise BackendError(f"cannot reach PostgreSQL at {mask_url(url)}: {reason}") from None
    with conn.cursor() as cur:
        for name, value in session_settings.items():
            cur.execute(f"SET {name} = {value}")  # names/values are ours, not user input
    conn.commit()
    return conn
