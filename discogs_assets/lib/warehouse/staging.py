"""Temporary staging tables of a steady-month load (never WAL-logged on PostgreSQL, dropped at
commit), and the ``IN`` form that looks their ids up in a big table by index."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from discogs_assets.lib.tables import TableSpec
from discogs_assets.lib.warehouse.bulk import quote
from discogs_assets.lib.warehouse.engine import is_postgres
from discogs_assets.lib.warehouse.schema import sql_type

STAGE_REMOVED = "stage_removed"
"""``id`` of the records of one chunk found absent from the month (tombstones)."""
STAGE_HASH = "stage_hash"
"""``id``, ``content_hash``, ``fast_hash``, ``child_hashes`` of the candidates (records that are
new, tombstoned or whose fingerprint moved)."""
STAGE_CHANGED = "stage_changed"
"""The candidates whose content changed: ``kind`` a(dded), c(hanged) or (re)v(ived), with the
stored and the new per-child-table hashes."""
STAGE_ROOT = "stage_root"
"""The root rows of the records to write, in the root table's columns."""
STAGE_REPLACE = "stage_replace"
"""``tbl`` (the index of a child table in the entity) and ``id``: child rows to replace."""
_STAGES = (STAGE_REMOVED, STAGE_HASH, STAGE_CHANGED, STAGE_ROOT, STAGE_REPLACE)


def _stage_type(dtype: pl.DataType, pg: bool) -> str:
    return sql_type(dtype).replace("{{ json }}", "JSONB" if pg else "TEXT")


def create_stage_tables(conn: sa.Connection, root: TableSpec) -> None:
    pg = is_postgres(conn)
    suffix = " ON COMMIT DROP" if pg else ""
    if not pg:  # SQLite temp tables live as long as the pooled connection
        drop_stage_tables(conn)
    # No keys on the PostgreSQL id/hash stages: COPY is faster without, and lookups by their
    # ids go through in_stage or the root table's key; on SQLite "INTEGER PRIMARY KEY" is the
    # rowid itself and costs nothing.
    id_col = "id BIGINT" if pg else "id INTEGER PRIMARY KEY"
    conn.exec_driver_sql(f"CREATE TEMP TABLE {STAGE_REMOVED} ({id_col}){suffix}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {STAGE_HASH} ({id_col}, content_hash TEXT NOT NULL, "
                         f"fast_hash BIGINT, child_hashes TEXT){suffix}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {STAGE_REPLACE} (tbl INTEGER, id BIGINT){suffix}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {STAGE_CHANGED} (id BIGINT PRIMARY KEY, kind CHAR(1) NOT NULL, "
        f"stored_child_hashes TEXT, child_hashes TEXT){suffix}")
    cols = ", ".join(f"{quote(c)} {_stage_type(t, pg)}" for c, t in root.columns.items())
    conn.exec_driver_sql(f"CREATE TEMP TABLE {STAGE_ROOT} ({cols}){suffix}")


def drop_stage_tables(conn: sa.Connection) -> None:
    """SQLite only (PostgreSQL drops them at commit)."""
    if not is_postgres(conn):
        for name in _STAGES:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")


def in_stage(conn: sa.Connection, stage: str, where: str = "true") -> str:
    """``IN`` the ids of a small staging table, as an index lookup per id: "= ANY(ARRAY(...))"
    gets that plan on PostgreSQL even for tables without statistics yet (a semi-join would
    then be planned as a hash join over a full scan of the big table)."""
    ids = f"SELECT id FROM {stage} WHERE {where}"
    return f"= ANY(ARRAY({ids}))" if is_postgres(conn) else f"IN ({ids})"
