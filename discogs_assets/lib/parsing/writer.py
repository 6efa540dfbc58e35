"""Streaming Parquet output: one zstd file per table, fed by the parse workers in chunk order.

Each worker hands its chunk's tables over as soon as it has them (``EntityWriter.add``). Every
table has its own queue: the thread that delivers the next chunk in order writes it, and any
later chunks already waiting, while other threads write other tables. So the tables are encoded
and compressed on all workers at once instead of one after another on one thread, and each file
still receives the same writes in the same order whatever the worker count or timing, which
keeps its bytes identical.

Small per-chunk tables are buffered per table up to ``FLUSH_BYTES`` so files do not end up with
thousands of tiny row groups; memory is bounded by that buffer (per table), not by the dump.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from discogs_assets.lib.tables import TableSpec, tables_for

FLUSH_BYTES = 4 << 20


class _TableWriter:
    def __init__(self, spec: TableSpec, path: Path) -> None:
        self.spec = spec
        # Dictionary pages and per-column statistics cost half the write time and buy little
        # for tables that are loaded whole; statistics stay on the key columns (row-group
        # pruning by id).
        self.writer = pq.ParquetWriter(
            path, spec.arrow_schema, compression="zstd", use_dictionary=False,
            write_statistics=list(dict.fromkeys((spec.parent_key, *spec.unique_key))))
        self.buffered: list[pa.Table] = []
        self.buffered_bytes = 0
        self.rows = 0
        self.lock = threading.Lock()  # guards the three fields below
        self.waiting: dict[int, pa.Table] = {}  # chunk index → its rows, until their turn
        self.next_chunk = 0
        self.busy = False  # a thread is writing; it also writes what arrives meanwhile

    def add(self, index: int, table: pa.Table) -> None:
        """Queue chunk ``index``'s rows; write every chunk whose turn has come."""
        if table.schema != self.spec.arrow_schema:
            raise ValueError(f"{self.spec.name}: chunk {index} has schema {table.schema}, not "
                             f"the contract {self.spec.arrow_schema}")
        with self.lock:
            self.waiting[index] = table
            if self.busy:
                return
            self.busy = True
        # A failed write leaves ``busy`` set: nothing after it is written, and the run fails.
        while True:
            with self.lock:
                table = self.waiting.pop(self.next_chunk, None)
                if table is None:
                    self.busy = False
                    return
                self.next_chunk += 1
            self._append(table)

    def _append(self, table: pa.Table) -> None:
        if table.num_rows:
            self.buffered.append(table)
            self.buffered_bytes += table.nbytes
            if self.buffered_bytes >= FLUSH_BYTES:
                self._flush()

    def _flush(self) -> None:
        if self.buffered:
            table = pa.concat_tables(self.buffered)
            self.writer.write_table(table)
            self.rows += table.num_rows
            self.buffered, self.buffered_bytes = [], 0

    def close(self) -> None:
        self._flush()
        self.writer.close()


class EntityWriter:
    """``<directory>/<table>.parquet`` for every table of an entity (empty ones included).

    ``add`` may be called from several threads at once, each chunk index exactly once."""

    def __init__(self, directory: Path, entity: str) -> None:
        self.writers = {spec.name: _TableWriter(spec, directory / f"{spec.name}.parquet")
                        for spec in tables_for(entity)}

    def add(self, index: int, tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            self.writers[name].add(index, table)

    def close(self) -> dict[str, int]:
        """Finish every file; return the row count per table."""
        for writer in self.writers.values():
            writer.close()
        return {name: writer.rows for name, writer in self.writers.items()}
