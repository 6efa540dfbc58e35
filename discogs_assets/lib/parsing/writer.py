"""Streaming Parquet output: one zstd file per table, written as chunk results arrive.

Small per-chunk frames are buffered per table up to ``FLUSH_BYTES`` so files do not end up with
thousands of tiny row groups; memory is bounded by that buffer (per table), not by the dump.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from discogs_assets.lib.tables import TableSpec, empty_frame, tables_for

FLUSH_BYTES = 4 << 20


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema polars writes for a contract table (reads back as tables.py dtypes)."""
    return empty_frame(table).to_arrow().schema


class _TableWriter:
    def __init__(self, spec: TableSpec, path: Path) -> None:
        self.spec = spec
        self.schema = arrow_schema(spec.name)
        # Dictionary pages and per-column statistics cost half the write time and buy little
        # for tables that are loaded whole; statistics stay on the key columns (row-group
        # pruning by id).
        self.writer = pq.ParquetWriter(
            path, self.schema, compression="zstd", use_dictionary=False,
            write_statistics=list(dict.fromkeys((spec.parent_key, *spec.unique_key))))
        self.pending: list[pa.Table] = []
        self.pending_bytes = 0
        self.rows = 0

    def add(self, frame: pl.DataFrame) -> None:
        if frame.schema != self.spec.schema:
            raise ValueError(f"{self.spec.name}: frame schema {dict(frame.schema)} is not the "
                             f"contract {dict(self.spec.schema)}")
        if frame.height:
            table = frame.to_arrow()
            self.pending.append(table)
            self.pending_bytes += table.nbytes
            if self.pending_bytes >= FLUSH_BYTES:
                self.flush()

    def flush(self) -> None:
        if self.pending:
            table = pa.concat_tables(self.pending).cast(self.schema)
            self.writer.write_table(table)
            self.rows += table.num_rows
            self.pending, self.pending_bytes = [], 0

    def close(self) -> None:
        self.flush()
        self.writer.close()


class EntityWriter:
    """``<directory>/<table>.parquet`` for every table of an entity (empty ones included)."""

    def __init__(self, directory: Path, entity: str) -> None:
        self.writers = {spec.name: _TableWriter(spec, directory / f"{spec.name}.parquet")
                        for spec in tables_for(entity)}

    def add(self, frames: dict[str, pl.DataFrame]) -> None:
        for name, frame in frames.items():
            self.writers[name].add(frame)

    def close(self) -> dict[str, int]:
        """Finish every file; return the row count per table."""
        for writer in self.writers.values():
            writer.close()
        return {name: writer.rows for name, writer in self.writers.items()}
