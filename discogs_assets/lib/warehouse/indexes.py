"""Setting a table's indexes aside for a bulk load and rebuilding them after, in the same
transaction (a failure rolls the drops back too)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from discogs_assets.lib.warehouse.bulk import quote
from discogs_assets.lib.warehouse.engine import execute_literal, is_postgres


def _droppable_indexes(conn: sa.Connection, table: str) -> list[tuple[str, str]]:
    """(drop, restore) statements for the table's indexes that a bulk load can do without:
    on PostgreSQL the primary key too (rebuilt by one sort instead of row by row); SQLite
    cannot drop a primary key, so only its secondary indexes."""
    if not is_postgres(conn):
        rows = conn.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
            "AND sql IS NOT NULL"), {"t": table})
        return [(f"DROP INDEX {quote(name)}", ddl) for name, ddl in rows]
    t = quote(table)
    keys = conn.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
        "CAST(:t AS regclass) AND contype = 'p'"), {"t": table}).all()
    indexes = conn.execute(sa.text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = "
        "current_schema() AND i.tablename = :t AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conname = i.indexname AND c.contype IN ('p', 'u'))"), {"t": table}).all()
    return [(f"ALTER TABLE {t} DROP CONSTRAINT {quote(name)}",
             f"ALTER TABLE {t} ADD CONSTRAINT {quote(name)} {ddl}") for name, ddl in keys] + [
        (f"DROP INDEX {quote(name)}", ddl) for name, ddl in indexes]


def set_indexes_aside(conn: sa.Connection, tables: list[str]) -> dict[str, list[str]]:
    """Drop the tables' indexes for a bulk load; returns each table's restore statements."""
    restores: dict[str, list[str]] = {}
    for table in tables:
        saved = _droppable_indexes(conn, table)
        for drop, _ in saved:
            execute_literal(conn, drop)
        restores[table] = [restore for _, restore in saved]
    if is_postgres(conn):
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    return restores


def restore_indexes(conn: sa.Connection, statements: list[str]) -> float:
    """Rebuild one table's indexes (definitions from the catalog, verbatim); seconds taken."""
    started = time.perf_counter()
    for statement in statements:
        execute_literal(conn, statement)
    return time.perf_counter() - started
