"""One-time migrations of existing warehouses that rerunnable SQL cannot express.

:func:`~discogs_assets.lib.warehouse.models.run_models` runs a model's migrations right after
its statements, in the same transaction, every time. Each one first checks the catalog (cheap,
no lock on the table's rows) and does its work only on a table that still needs it, so a
routine migration never waits behind a running load.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa

from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.tables import ENTITY_ROOT_TABLE
from discogs_assets.lib.warehouse.bulk import quote
from discogs_assets.lib.warehouse.engine import is_postgres


class MigrationError(NonRetryableError):
    """An existing table does not look like any version this code knows how to migrate."""


def _not_null(conn: sa.Connection, table: str, column: str) -> bool:
    if is_postgres(conn):
        return bool(conn.execute(sa.text(
            "SELECT attnotnull FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
            "AND attname = :c AND NOT attisdropped"), {"t": table, "c": column}).scalar())
    return bool(conn.execute(sa.text(
        'SELECT "notnull" FROM pragma_table_info(:t) WHERE name = :c'),
        {"t": table, "c": column}).scalar())


def _sqlite_drop_not_null(conn: sa.Connection, table: str, column: str) -> None:
    """SQLite has no ALTER COLUMN: edit the table's stored definition instead, the procedure
    SQLite documents for removing a NOT NULL constraint (the rows on disk do not change; the
    schema version bump makes every connection re-read the definition)."""
    ddl = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                               "name = :t"), {"t": table}).scalar_one()
    relaxed, found = re.subn(rf"(\b{column}\s+TEXT)\s+NOT\s+NULL\b", r"\1", ddl, flags=re.I)
    if found != 1:
        raise MigrationError(f"table {table}: cannot find '{column} TEXT NOT NULL' in its "
                             f"definition to relax: {ddl!r}")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        conn.execute(sa.text("UPDATE sqlite_master SET sql = :ddl WHERE type = 'table' AND "
                             "name = :t"), {"ddl": relaxed, "t": table})
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1:d}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def last_seen_only_when_removed(conn: sa.Connection, table: str) -> None:
    """Root tables made before present rows stopped storing ``last_seen_month``.

    Loads used to rewrite ``last_seen_month`` on every present row each month (and kept half
    of each page free for that: fillfactor 50). Now a present record is by definition seen in
    its entity's current month, and only a tombstone keeps the month it was last seen in. So,
    once: the column may be NULL, present rows' stale months are cleared (one pass over the
    table, the cost one month used to have) and the fillfactor goes back to the default.
    """
    if not _not_null(conn, table, "last_seen_month"):
        return
    t = quote(table)
    if is_postgres(conn):
        conn.exec_driver_sql(f"ALTER TABLE {t} ALTER COLUMN last_seen_month DROP NOT NULL")
        conn.exec_driver_sql(f"ALTER TABLE {t} RESET (fillfactor)")
    else:
        _sqlite_drop_not_null(conn, table, "last_seen_month")
    conn.exec_driver_sql(f"UPDATE {t} SET last_seen_month = NULL WHERE removed_in_month IS NULL")


Migration = Callable[[sa.Connection, str], None]
MIGRATIONS: dict[str, tuple[Migration, ...]] = {
    table: (last_seen_only_when_removed,) for table in ENTITY_ROOT_TABLE.values()}
"""Model name -> migrations run after its statements (given the connection and the name)."""
