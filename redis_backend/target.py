"""Target URLs: parsing, password masking, and connecting with bounded timeouts."""
from __future__ import annotations

from pathlib import Path
import re
from urllib.parse import parse_qs, unquote, urlsplit

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


# A password in any form a user may give us: in a URL's user info (up to the last "@", so an
# unencoded "@" or "/" in it is masked whole), as a URL query parameter (redis-py's and libpq's
# `?password=`), or as a libpq key=value DSN (`password=...`, quoted or not).
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^:/@]*):(.*)@")
_PARAMETER = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s#]*)")


def mask_url(url: str) -> str:
    """The URL or DSN with every password in it replaced by '***'."""
    masked = _PARAMETER.sub(lambda m: f"{m[1]}***" if m[2] else m[0], url)
    return _USERINFO.sub(lambda m: f"{m[1]}{m[2]}:***@", masked, count=1)


def secrets_in(text: str) -> list[str]:
    """Every password in a URL or DSN, as given and percent-decoded (for mask_secrets)."""
    found = [m[2].strip("'") for m in _PARAMETER.finditer(text) if m[2].strip("'")]
    match = _USERINFO.match(_PARAMETER.sub(r"\1", text))
    if match and match[3]:  # libpq ends an unencoded password at its first "@": the rest
        found += [match[3], *(p for p in match[3].split("@")[1:] if len(p) >= 3)]  # is a "host"
    return sorted({x for s in found for x in (s, unquote(s))}, key=len, reverse=True)


def mask_secrets(text: str, secrets: list[str]) -> str:
    """Replace every non-empty secret in text; the last line of defence for printed errors."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def url_password(url: str) -> str | None:
    """The password a client would use: user info, else the `password` query parameter."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return None
    if password:
        return unquote(password)
    query = parse_qs(parts.query).get("password")
    return query[0] if query and query[0] else None


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


def connect_redis(url: str, command_timeout_s: float | None = None) -> redis.Redis:
    """A client that has answered PING; BackendError (one line) if unreachable or refused.

    Retries are off: redis-py 8 retries up to 10 times by default, which would hide
    failures and distort timings."""
    params = parse_redis_url(url)
    client = redis.Redis(**params, socket_connect_timeout=CONNECT_TIMEOUT_S,
                         socket_timeout=command_timeout_s or COMMAND_TIMEOUT_S,
                         retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        raise BackendError(f"Redis at {mask_url(url)} refused authentication: {exc}") from None
    except redis.ResponseError as exc:  # e.g. NOAUTH, or a DB index out of range
        raise BackendError(f"Redis at {mask_url(url)} refused: {exc}") from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        reason = mask_secrets(str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                              secrets_in(url))
        raise BackendError(f"cannot reach Redis at {mask_url(url)}: {reason}") from None
    return client


def connect_postgres(url: str, **session_settings: str):
    """A psycopg connection (autocommit off) from a postgresql:// URL or a key=value DSN;
    BackendError if unreachable. libpq's own parse errors quote the DSN: never shown."""
    import psycopg
    scheme = url.split("://", 1)[0] if "://" in url else None
    if scheme not in ("postgresql", "postgres") and (scheme or "=" not in url):
        raise BackendError(f"bad --postgres {mask_url(url)!r}: expected "
                           "postgresql://user[:password]@host:port/dbname or 'host=... dbname=...'")
    try:
        conn = psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT_S))
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = mask_secrets(first, secrets_in(url))
        raise BackendError(f"cannot reach PostgreSQL at {mask_url(url)}: {reason}") from None
    except (psycopg.Error, ValueError):
        raise BackendError(f"bad --postgres {mask_url(url)!r}: libpq could not parse it; "
                           "expected postgresql://user[:password]@host:port/dbname or "
                           "'host=... dbname=...'") from None
    with conn.cursor() as cur:
        for name, value in session_settings.items():
            cur.execute(f"SET {name} = {value}")  # names/values are ours, not user input
    conn.commit()
    return conn
