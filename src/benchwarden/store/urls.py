"""Database locations: what ``--db`` accepts, and how URLs are shown without secrets.

Accepted: a filesystem path or ``sqlite:///PATH`` (SQLite), and ``postgresql://`` or
``postgres://`` URLs (PostgreSQL through psycopg 3). Every string built here masks the
password, whichever form the URL came in (userinfo, ``?password=``, percent-encoded).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from benchwarden.paths import home_dir
from benchwarden.store.records import StoreError

_URL_PASSWORD = re.compile(r"(://[^/?#@:]*:)([^@/?#]*)(@)")
_QUERY_PASSWORD = re.compile(r"((?:^|[?&])password=)([^&#]*)", re.IGNORECASE)
USAGE = (
    "Pass a file path or sqlite:///PATH for SQLite, "
    "or postgresql://USER:PASSWORD@HOST:PORT/DBNAME for PostgreSQL."
)


def default_db_url() -> str:
    """The SQLite file under ``BENCHWARDEN_HOME``."""
    return f"sqlite:///{home_dir() / 'benchwarden.db'}"


def mask_url(raw: str) -> str:
    """``raw`` with any password replaced by ``***``; works on URLs that do not parse."""
    masked = _URL_PASSWORD.sub(r"\1***\3", raw)
    return _QUERY_PASSWORD.sub(r"\1***", masked)


def _secrets(raw: str, url: URL | None) -> list[str]:
    found = [m.group(2) for m in _URL_PASSWORD.finditer(raw)]
    found += [m.group(2) for m in _QUERY_PASSWORD.finditer(raw)]
    if url is not None and url.password:
        found.append(str(url.password))
    found += [unquote(s) for s in found]
    # Longest first, so that a password containing another is replaced whole.
    return sorted({s for s in found if s}, key=len, reverse=True)


def scrub(text: str, raw_url: str, url: URL | None = None) -> str:
    """``text`` (a driver's error message) without any form of the URL's password."""
    for secret in _secrets(raw_url, url):
        text = text.replace(secret, "***")
    return mask_url(text)


def resolve_url(location: str | None) -> URL:
    """Turn what the user gave (``--db``) into a SQLAlchemy URL with an explicit driver."""
    raw = default_db_url() if location is None else location.strip()
    if not raw:
        raise StoreError(f"Empty database location. {USAGE}")
    if "://" not in raw:
        path = Path(raw).expanduser().resolve()
        return URL.create("sqlite+pysqlite", database=str(path))
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"Cannot parse database URL {mask_url(raw)!r}. {USAGE}") from exc
    backend = url.get_backend_name()
    driver = url.drivername.partition("+")[2]
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return url.set(drivername="sqlite+pysqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return url.set(drivername="postgresql+psycopg")
    raise StoreError(
        f"Unsupported database URL {mask_url(raw)!r} (driver {url.drivername!r}). {USAGE}"
    )


def display_url(url: URL) -> str:
    """What a user would type: no driver name, password masked (``?password=`` too)."""
    shown = url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)
    return mask_url(shown)


def sentence(text: str) -> str:
    """A driver's message on one line, ending with punctuation, to put before a hint."""
    flat = " ".join(text.split())
    return flat if flat.endswith((".", "?", "!")) else f"{flat}."
