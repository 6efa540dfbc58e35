"""Counting references that dangle after a load (they are kept as data, never an error)."""

from __future__ import annotations

import sqlalchemy as sa

from discogs_assets.lib.tables import TABLES_BY_NAME
from discogs_assets.lib.warehouse.bulk import quote
from discogs_assets.lib.warehouse.schema import CREDIT_TABLES, REFERENCES


def count_dangling(conn: sa.Connection, entity: str) -> dict[str, int]:
    """``{"table.column": n}`` for references to missing ids, ``{"table.unlinked": n}`` for
    credits without an artist id, over the entity's whole current state.

    Counting the state (not only the rows a load wrote) makes the figure describe the
    warehouse after month M, the same however often M is rerun. A tombstoned target still
    counts as present: the row exists.
    """
    counts: dict[str, int] = {}

    for table, column, target in REFERENCES[entity]:
        col = f"c.{quote(column)}"
        counts[f"{table}.{column}"] = conn.execute(sa.text(
            f"SELECT COUNT(*) FROM {quote(table)} c WHERE {col} IS NOT NULL AND {col} <> 0 "
            f"AND NOT EXISTS (SELECT 1 FROM {quote(target)} r WHERE r.id = {col})"
        )).scalar_one()
    for table in CREDIT_TABLES:
        if TABLES_BY_NAME[table].entity == entity:
            counts[f"{table}.unlinked"] = conn.execute(sa.text(
                f"SELECT COUNT(*) FROM {quote(table)} c "
                f"WHERE (c.artist_id IS NULL OR c.artist_id = 0)"
            )).scalar_one()
    return counts
