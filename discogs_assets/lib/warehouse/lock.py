"""One loader at a time per warehouse.

PostgreSQL: a transaction-scoped advisory lock (released by commit, rollback or a dead
connection, so a killed loader never leaves it behind). SQLite: an OS file lock beside the
database file (released by the kernel when the holder dies) taken before ``BEGIN IMMEDIATE``.
Either way the second loader logs who holds the lock and waits up to ``wait_s`` seconds, then
raises :class:`WarehouseBusy`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock
import sqlalchemy as sa

from discogs_assets.lib.errors import RetryableError
from discogs_assets.lib.warehouse.engine import is_postgres, write_transaction

LOAD_LOCK_KEY = 0x44697363  # "Disc": serializes month loads
DDL_LOCK_KEY = 0x44444C31  # "DDL1": serializes schema models
_POLL_S = 0.5


class WarehouseBusy(RetryableError):
    """Another load holds the warehouse lock for longer than this run was willing to wait."""


def pg_xact_lock(conn: sa.Connection, key: int) -> None:
    """Block until this transaction holds advisory lock ``key`` (schema runs: short waits)."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _pg_holder(conn: sa.Connection, key: int) -> str:
    row = conn.execute(
        sa.text(
            "SELECT a.pid, a.application_name, a.xact_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
            "AND l.granted AND l.classid = 0 AND l.objid = :k LIMIT 1"
        ),
        {"k": key},
    ).first()
    if row is None:
        return "another session"
    return f"backend pid {row.pid} ({row.application_name or 'no application name'}, " \
        f"transaction started {row.xact_start})"


def acquire_pg_load_lock(
    conn: sa.Connection, *, wait_s: float, log: Callable[[str], None], what: str
) -> None:
    """Take the load lock inside ``conn``'s transaction, saying why when it has to wait."""
    def attempt() -> bool:
        return bool(conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"),
                                 {"k": LOAD_LOCK_KEY}).scalar())

    if attempt():
        return
    holder = _pg_holder(conn, LOAD_LOCK_KEY)
    log(f"{what}: waiting up to {wait_s:g}s: another load holds the warehouse lock "
        f"(advisory lock {LOAD_LOCK_KEY}, held by {holder})")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        time.sleep(_POLL_S)
        if attempt():
            log(f"{what}: warehouse lock acquired")
            return
    raise WarehouseBusy(
        f"{what}: gave up after {wait_s:g}s: another load still holds the warehouse lock "
        f"(advisory lock {LOAD_LOCK_KEY}, held by {_pg_holder(conn, LOAD_LOCK_KEY)}); "
        "two loads never interleave, retry when it finishes"
    )


def sqlite_lock_path(engine: sa.Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:":
        return None  # a private in-memory database has no other writer
    return Path(database).with_name(Path(database).name + ".load.lock")


@contextlib.contextmanager
def sqlite_load_lock(
    engine: sa.Engine, *, wait_s: float, log: Callable[[str], None], what: str
) -> Iterator[None]:
    path = sqlite_lock_path(engine)
    if path is None:
        yield
        return
    lock = filelock.FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        log(f"{what}: waiting up to {wait_s:g}s: another load holds the warehouse lock "
            f"file {path.name}")
        try:
            lock.acquire(timeout=wait_s, poll_interval=_POLL_S)
        except filelock.Timeout:
            raise WarehouseBusy(
                f"{what}: gave up after {wait_s:g}s: another load still holds the warehouse "
                f"lock file {path.name}; two loads never interleave, retry when it finishes"
            ) from None
        log(f"{what}: warehouse lock acquired")
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def load_transaction(
    engine: sa.Engine, *, wait_s: float, log: Callable[[str], None], what: str
) -> Iterator[sa.Connection]:
    """One write transaction holding the warehouse load lock for its whole life."""
    if is_postgres(engine):
        with engine.begin() as conn:
            acquire_pg_load_lock(conn, wait_s=wait_s, log=log, what=what)
            yield conn
    else:
        with sqlite_load_lock(engine, wait_s=wait_s, log=log, what=what), \
                write_transaction(engine) as conn:
            yield conn
