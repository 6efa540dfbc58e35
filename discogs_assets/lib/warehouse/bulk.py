"""Writing DataFrames into warehouse tables: COPY on PostgreSQL, executemany on SQLite.

Identifiers come only from the table contract; values travel as COPY data or bound parameters.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

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


def csv_payload(df: pl.DataFrame) -> bytes:
    """``df`` as COPY data (CSV: unquoted empty = NULL, "" = empty text); client CPU only, so
    it can be prepared in a thread while the server takes the previous payload."""
    buf = io.BytesIO()
    _pg_ready(df).write_csv(buf, include_header=False)
    return buf.getvalue()


def copy_payload(conn: sa.Connection, table: str, columns: Sequence[str], data: bytes) -> None:
    """COPY CSV ``data`` (see :func:`csv_payload`) into ``table`` (PostgreSQL)."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(
        f"COPY {quote(table)} ({column_list(columns)}) FROM STDIN (FORMAT csv)"
    ) as copy:
        view = memoryview(data)
        for start in range(0, len(view), _COPY_CHUNK_BYTES):
            copy.write(view[start:start + _COPY_CHUNK_BYTES])


def copy_frame(conn: sa.Connection, table: str, df: pl.DataFrame) -> int:
    """COPY ``df`` into ``table`` (PostgreSQL)."""
    if df.height == 0:
        return 0
    copy_payload(conn, table, df.columns, csv_payload(df))
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


def insert_frames(
    conn: sa.Connection, frames: Sequence[tuple[str, pl.DataFrame]],
    after: Callable[[str], None] | None = None,
) -> int:
    """:func:`insert_frame` for each ``(table, df)`` in order, calling ``after(table)`` once a
    table's rows are in. On PostgreSQL the next table's COPY payload is encoded in a thread
    while the server takes the current one (polars and the driver release the GIL)."""
    written = 0
    if not is_postgres(conn):
        for table, df in frames:
            written += insert_frame(conn, table, df)
            if after:
                after(table)
        return written
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Only one payload ahead: memory stays at about one table's CSV more than before.
        ahead = pool.submit(csv_payload, frames[0][1]) if frames else None
        for index, (table, df) in enumerate(frames):
            data = ahead.result() if ahead else b""
            if index + 1 < len(frames):
                ahead = pool.submit(csv_payload, frames[index + 1][1])
            if df.height:
                copy_payload(conn, table, df.columns, data)
                written += df.height
            if after:
                after(table)
    return written


def read_frame(conn: sa.Connection, query: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The rows of ``query`` (no bound parameters) as a DataFrame of ``schema``: COPY TO
    (CSV, parsed by polars) on PostgreSQL, far cheaper than building Python rows; one fetch on
    SQLite."""
    if not is_postgres(conn):
        return pl.DataFrame(conn.exec_driver_sql(query).all(), schema=schema, orient="row")
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
        data = b"".join(bytes(block) for block in copy)
    if not data:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(io.BytesIO(data), has_header=False, new_columns=list(schema),
                       schema=schema)
