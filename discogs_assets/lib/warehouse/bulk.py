"""Writing DataFrames into warehouse tables: COPY on PostgreSQL, executemany on SQLite.

Identifiers come only from the table contract; values travel as COPY data or bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import sqlalchemy as sa

from discogs_assets.lib.warehouse.engine import is_postgres

_COPY_CHUNK_BYTES = 8 << 20


def quote(name: str) -> str:
    """Quote an identifier from the contract (``join`` is a reserved word)."""
    return f'"{name}"'


def column_list(columns: Sequence[str]) -> str:
    return ", ".join(quote(c) for c in columns)


def json_lists(df: pl.DataFrame) -> pl.DataFrame:
    """List columns become JSON array text (vectorized: encode a one-field struct, unwrap it)."""
    lists = [n for n, t in df.schema.items() if isinstance(t, pl.List)]
    return df.with_columns(
        pl.when(pl.col(n).is_null())
        .then(pl.lit(None, dtype=pl.Utf8))
        .otherwise(
            pl.struct(pl.col(n).alias("v")).struct.json_encode()
            .str.strip_prefix('{"v":').str.strip_suffix("}")
        )
        .alias(n)
        for n in lists
    )


def _pg_ready(df: pl.DataFrame) -> pl.DataFrame:
    # PostgreSQL text cannot hold NUL; old dumps can carry control characters.
    texts = [n for n, t in df.schema.items() if t == pl.Utf8]
    return json_lists(df).with_columns(pl.col(n).str.replace_all("\x00", "", literal=True)
                                       for n in texts)


def copy_frame(conn: sa.Connection, table: str, df: pl.DataFrame) -> int:
    """COPY ``df`` into ``table`` (PostgreSQL, CSV: unquoted empty = NULL, "" = empty text)."""
    if df.height == 0:
        return 0
    data = _pg_ready(df).write_csv(include_header=False).encode()
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(
        f"COPY {quote(table)} ({column_list(df.columns)}) FROM STDIN (FORMAT csv)"
    ) as copy:
        view = memoryview(data)
        for start in range(0, len(view), _COPY_CHUNK_BYTES):
            copy.write(view[start:start + _COPY_CHUNK_BYTES])
    return df.height


def insert_frame(conn: sa.Connection, table: str, df: pl.DataFrame) -> int:
    """Append ``df`` to ``table``: COPY on PostgreSQL, one executemany on SQLite."""
    if df.height == 0:
        return 0
    if is_postgres(conn):
        return copy_frame(conn, table, df)
    marks = ", ".join("?" for _ in df.columns)
    raw = conn.connection.driver_connection
    raw.executemany(
        f"INSERT INTO {quote(table)} ({column_list(df.columns)}) VALUES ({marks})",
        json_lists(df).iter_rows(),
    )
    return df.height
