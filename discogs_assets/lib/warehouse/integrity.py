"""Counting references that dangle after a load (they are kept as data, never an error)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from discogs_assets.lib.tables import TABLES_BY_NAME
from discogs_assets.lib.warehouse.bulk import quote
from discogs_assets.lib.warehouse.schema import CREDIT_TABLES, REFERENCES

RowFilter = Callable[[str], str | None]
"""Given a table, an SQL condition on its rows (alias ``c``), or None to count none of them."""


def count_dangling(conn: sa.Connection, entity: str,
                   rows: RowFilter | None = None) -> dict[str, int]:
    """``{"table.column": n}`` for references to missing ids, ``{"table.unlinked": n}`` for
    credits without an artist id, over the entity's whole current state (or over the rows
    ``rows`` selects).

    Counting the state (not only the rows a load wrote) makes the figure describe the
    warehouse after month M, the same however often M is rerun. A tombstoned target still
    counts as present: the row exists. Root rows are never deleted, so a reference once
    resolved stays resolved, and a load can count the state before it writes, then correct
    for the rows it replaces (see :func:`corrected`).
    """
    counts: dict[str, int] = {}

    def count(table: str, condition: str) -> int:
        extra = rows(table) if rows else "true"
        if extra is None:
            return 0
        return conn.execute(sa.text(
            f"SELECT COUNT(*) FROM {quote(table)} c WHERE ({condition}) AND ({extra})"
        )).scalar_one()

    for table, column, target in REFERENCES[entity]:
        col = f"c.{quote(column)}"
        counts[f"{table}.{column}"] = count(
            table, f"{col} IS NOT NULL AND {col} <> 0 AND NOT EXISTS "
                   f"(SELECT 1 FROM {quote(target)} r WHERE r.id = {col})")
    for table in CREDIT_TABLES:
        if TABLES_BY_NAME[table].entity == entity:
            counts[f"{table}.unlinked"] = count(table, "c.artist_id IS NULL OR c.artist_id = 0")
    return counts


def corrected(before: dict[str, int], removed: dict[str, int],
              added: dict[str, int]) -> dict[str, int]:
    """The state's counts after replacing rows: ``before`` less the replaced rows' counts
    (``removed``, taken before the write) plus their successors' (``added``, after it)."""
    return {key: n - removed.get(key, 0) + added.get(key, 0) for key, n in before.items()}
