"""The first load of an entity (every table of it empty): the bulk path.

Rows go straight into the target tables (COPY on PostgreSQL, executemany on SQLite) with the
indexes (on PostgreSQL the primary keys too) dropped first and rebuilt once per table as soon
as its last rows are in, far cheaper than row-by-row upkeep. The tables are read one by one,
so the first COPY starts while the rest is read; hashing and the next table's COPY encoding
run in threads while the server takes rows and builds indexes.
"""

from __future__ import annotations

from concurrent.futures import Future

import polars as pl

from discogs_assets.lib.warehouse.bulk import insert_frames
from discogs_assets.lib.warehouse.hashing import all_hashes
from discogs_assets.lib.warehouse.indexes import restore_indexes, set_indexes_aside
from discogs_assets.lib.warehouse.integrity import count_dangling
from discogs_assets.lib.warehouse.month_input import Chunk
from discogs_assets.lib.warehouse.month_load import MonthLoad


def first_load(load: MonthLoad, first: Chunk) -> None:
    """Write every chunk of the month into the empty tables (``first``: chunk 0, read ahead)."""
    conn, specs, counts, root = load.conn, load.specs, load.counts, load.root
    restores = set_indexes_aside(conn, [s.name for s in specs])
    rebuilding = 0.0
    ranges = load.input.ranges
    for index in range(len(ranges)):
        chunk = load.chunk(index, first, streamed=True)
        last = index == len(ranges) - 1
        # The root rows carry the record hashes, so they go last; hashing waits for the
        # whole chunk, and by then the first COPY is under way.
        hashing = load.hasher.submit(_root_rows, load, chunk)

        def frame_of(table: str, chunk: Chunk = chunk, hashing: Future = hashing
                     ) -> pl.DataFrame:
            return hashing.result() if table == root.name else chunk.table(table)

        def table_done(table: str, last: bool = last) -> None:
            nonlocal rebuilding
            if last and restores[table]:  # complete: its index builds overlap client work
                seconds = restore_indexes(conn, restores[table])
                rebuilding += seconds
                built = len(restores[table])
                load.say(f"{table}: {built} index{'es' if built > 1 else ''} rebuilt in "
                         f"{seconds:.1f}s")

        counts.rows_written += insert_frames(
            conn, [s.name for s in (*specs[1:], root)], frame_of, table_done)
        load.progress(index, f"{counts.rows_written:,} rows written")
    if rebuilt := sum(map(len, restores.values())):
        load.say(f"rebuilt {rebuilt} indexes in {rebuilding:.1f}s")
    counts.added = counts.staged_rows
    # No ANALYZE here: autovacuum analyzes the freshly filled tables soon after the commit,
    # and the next month's diff is a hash join that needs no statistics to be chosen.
    counts.dangling.update(count_dangling(conn, root.entity))


def _root_rows(load: MonthLoad, chunk: Chunk) -> pl.DataFrame:
    """The chunk's root rows with their hashes and first month (``last_seen_month`` stays
    NULL while a record is present)."""
    hashes = all_hashes(chunk.frames(), load.specs)
    return chunk.table(load.root.name).join(hashes, on="id", how="left").with_columns(
        first_seen_month=pl.lit(load.month))
