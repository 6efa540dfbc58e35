"""SQLAlchemy engines for the warehouse: SQLite (embedded default) or PostgreSQL (psycopg 3).

SQLite connections get WAL (readers never block the loader), a busy timeout (a second writer
waits instead of failing at once) and pragmas that suit bulk loads without risking corruption
on a killed process. Transactions on SQLite are started by us (not by the driver) so a writer
can take the write lock up front with ``BEGIN IMMEDIATE`` (see :func:`write_transaction`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

APPLICATION_NAME = "discogs-pipeline"
SQLITE_BUSY_TIMEOUT_MS = 60_000
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    # NORMAL is crash-safe in WAL mode (a kill -9 loses nothing committed); FULL only adds
    # protection against power loss at a large cost on bulk loads.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-131072",  # 128 MiB page cache
    "PRAGMA foreign_keys=OFF",  # dangling Discogs references are data, never a constraint error
)
_BEGIN_OPTION = "discogs_sqlite_begin"
_PASSWORD_RE = re.compile(r"(://[^:/@]+:)[^@]*@")


def redact_url(url: str | URL) -> str:
    """The URL with its password masked; safe for logs, metadata and error messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a parseable URL: mask anything that looks like user:password@
        return _PASSWORD_RE.sub(r"\1***@", str(url))


def normalize_url(url: str | URL) -> URL:
    """Accept ``postgres://``, ``postgresql://`` and ``postgresql+psycopg://``; use psycopg 3."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "postgresql":
        raise ValueError(
            f"unsupported PostgreSQL driver {parsed.drivername!r} in {redact_url(parsed)}: "
            "use postgresql:// or postgresql+psycopg://"
        )
    if parsed.get_backend_name() != "sqlite":
        raise ValueError(f"unsupported warehouse URL {redact_url(parsed)}: sqlite or postgresql")
    return parsed


def make_engine(url: str | URL) -> sa.Engine:
    """An engine for the warehouse at ``url`` (SQLite file or PostgreSQL)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        # The application name shows up in pg_stat_activity, e.g. when a load waits on a lock.
        return sa.create_engine(parsed, pool_pre_ping=True,
                                connect_args={"application_name": APPLICATION_NAME})
    engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cur.execute(pragma)
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(_BEGIN_OPTION, '')}")

    return engine


def is_postgres(bind: sa.Engine | sa.Connection) -> bool:
    return bind.dialect.name == "postgresql"


@contextlib.contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that intends to write: on SQLite it takes the write lock at BEGIN.

    A deferred SQLite transaction that reads and then writes can fail with "database is
    locked" when another writer committed in between; ``BEGIN IMMEDIATE`` waits instead.
    """
    with engine.connect() as conn:
        if not is_postgres(engine):
            conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with conn.begin():
            yield conn


def execute_literal(conn: sa.Connection, statement: str) -> None:
    """Run SQL text exactly as written, through the driver cursor without parameters, so a
    '%' (e.g. in a LIKE pattern) is not taken for a psycopg placeholder."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()
