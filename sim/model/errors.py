"""Errors the user can act on: the command line prints their one-line message and exits 2."""
from __future__ import annotations

MESSAGE_LIMIT = 600  # characters of a whole error line
VALUE_LIMIT = 80     # characters of a value (a key, a file name, an echoed input) quoted in one


class UserError(Exception):
    pass


def printable(text, limit: int | None = VALUE_LIMIT) -> str:
    """`text` on one line: control characters, escape codes and other unprintable characters
    escaped as Python does (\\n, \\x1b, \\u2028), then cut to `limit` characters with '...'."""
    text = str(text)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if limit is not None and len(text) > limit:
        text = text[:max(limit - 3, 0)] + "..."
    return text
