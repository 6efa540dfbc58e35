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
    conn: sa.Connection, tables: Sequence[str], frame_of: Callable[[str], pl.DataFrame],
    after: Callable[[str], None] | None = None,
) -> int:
    """:func:`insert_frame` of ``frame_of(table)`` for each table in order (``frame_of`` may
    block until the table is read), calling ``after(table)`` once a table's rows are in. On
    PostgreSQL the next table's COPY payload is prepared in a thread while the server takes
    the current one (polars and the driver release the GIL)."""
    written = 0
    if not is_postgres(conn):
        for table in tables:
            written += insert_frame(conn, table, frame_of(table))
            if after:
                after(table)
        return written

    def prepare(table: str) -> tuple[list[str], int, bytes]:
        df = frame_of(table)
        return df.columns, df.height, csv_payload(df) if df.height else b""

    with ThreadPoolExecutor(max_workers=1) as pool:
        # Only one payload ahead: memory stays at about one table's CSV more than before.
        ahead = pool.submit(prepare, tables[0]) if tables else None
        for index, table in enumerate(tables):
            columns, height, data = ahead.result() if ahead else ([], 0, b"")
            if index + 1 < len(tables):
                ahead = pool.submit(prepare, tables[index + 1])
            if height:
                copy_payload(conn, table, columns, data)
                written += height
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
