"""Loading one month of one entity into the current-state tables.

The whole entity loads in one transaction holding the warehouse load lock, so a crash or a
kill at any point leaves the last committed state and the next run simply redoes the month.

Two paths, same result:

* first load (every table of the entity empty): rows go straight into the target tables
  (COPY on PostgreSQL, executemany on SQLite) with the indexes (on PostgreSQL the primary
  keys too) dropped first and rebuilt once per table as soon as its last rows are in, far
  cheaper than row-by-row upkeep. The tables are read one by one, so the first COPY starts
  while the rest is read; hashing and the next table's COPY encoding run in threads while
  the server takes rows and builds indexes.
* merge (steady state): reading and fingerprinting the month (``fast_hash``) start first, in
  a thread, while the server bumps ``last_seen_month`` of the present records and returns
  their stored fingerprints in the same scan, and the absent ones are tombstoned (their last
  month given back). Records whose fingerprint differs from the stored one (or that are new
  or tombstoned) are the candidates, and only they get the stable content hash, which decides
  added / changed / revived (staged in temporary tables, never WAL-logged). Only those
  records' rows are written: root rows upserted so runtime columns and first_seen_month
  survive; child rows deleted (index lookups) and re-inserted only in the child tables whose
  per-table hash (``child_hashes``) moved. Root tables keep half of each page free
  (fillfactor 50) so the ``last_seen_month`` bump stays HOT. Dangling references are counted
  in the state before the writes, while the client hashes, and recounted only for the
  rewritten rows.

Monotonic: a month older than the entity's current month is recorded as historical in
``month_changes`` and changes nothing else. Shrink guard: a month whose record count is zero
or dropped by more than ``max_shrink`` against the current state is refused unless
``allow_shrink`` is set for that run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.layout import check_month
from discogs_assets.lib.tables import TABLES_BY_NAME, TableSpec
from discogs_assets.lib.warehouse.bulk import (
    column_list,
    insert_frame,
    insert_frames,
    quote,
    read_frame,
)
from discogs_assets.lib.warehouse.changes import ChangeCounts, current_month, record_changes
from discogs_assets.lib.warehouse.engine import is_postgres
from discogs_assets.lib.warehouse.hash_scheme import check_hash_scheme
from discogs_assets.lib.warehouse.hashing import fast_hashes, record_hashes
from discogs_assets.lib.warehouse.indexes import restore_indexes, set_indexes_aside
from discogs_assets.lib.warehouse.integrity import corrected, count_dangling
from discogs_assets.lib.warehouse.lock import load_transaction
from discogs_assets.lib.warehouse.month_input import Chunk, MonthInput, ParsedInputError
from discogs_assets.lib.warehouse.schema import sql_type

DEFAULT_CHUNK_ROWS = 200_000
"""Root records read and hashed at a time (bounds memory; child rows come along)."""
_STAGE_REMOVED, _STAGE_HASH = "stage_removed", "stage_hash"
_STAGE_CHANGED, _STAGE_ROOT, _STAGE_REPLACE = "stage_changed", "stage_root", "stage_replace"
_STAGES = (_STAGE_REMOVED, _STAGE_HASH, _STAGE_CHANGED, _STAGE_ROOT, _STAGE_REPLACE)

Log = Callable[[str], None]
__all__ = ["LoadResult", "ParsedInputError", "ShrinkGuardError", "load_month"]


class ShrinkGuardError(NonRetryableError):
    """A month's record count is zero or dropped too far against the current state."""


@dataclass
class LoadResult:
    entity: str
    month: str
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    revived: int = 0
    staged_rows: int = 0
    """Records (root rows) in the month's input."""
    input_rows: int = 0
    """Rows of every table of the entity in the month's input."""
    rows_written: int = 0
    """Rows inserted, updated or tombstoned in all tables (last-seen bumps not counted)."""
    seconds: float = 0.0
    historical: bool = False
    first_load: bool = False
    dangling: dict[str, int] = field(default_factory=dict)
    message: str = ""

    @property
    def rows_per_s(self) -> float:
        """Input rows (all tables) per second of the whole load."""
        return self.input_rows / self.seconds if self.seconds > 0 else 0.0


def _sayer(log: Any) -> Log:
    if log is None:
        return logging.getLogger(__name__).info
    if hasattr(log, "info"):
        return log.info
    return log


# -- SQL helpers ----------------------------------------------------------------------------

def _has_rows(conn: sa.Connection, table: str) -> bool:
    return conn.exec_driver_sql(f"SELECT 1 FROM {quote(table)} LIMIT 1").scalar() is not None


def _stage_type(dtype: pl.DataType, pg: bool) -> str:
    return sql_type(dtype).replace("{{ json }}", "JSONB" if pg else "TEXT")


def _create_stage_tables(conn: sa.Connection, root: TableSpec) -> None:
    pg = is_postgres(conn)
    suffix = " ON COMMIT DROP" if pg else ""
    if not pg:  # SQLite temp tables live as long as the pooled connection
        for name in _STAGES:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
    # No keys on the PostgreSQL id/hash stages: COPY is faster without, and lookups by their
    # ids go through _in_stage or the root table's key; on SQLite "INTEGER PRIMARY KEY" is the
    # rowid itself and costs nothing.
    id_col = "id BIGINT" if pg else "id INTEGER PRIMARY KEY"
    conn.exec_driver_sql(f"CREATE TEMP TABLE {_STAGE_REMOVED} ({id_col}){suffix}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {_STAGE_HASH} ({id_col}, content_hash TEXT NOT NULL, "
                         f"fast_hash BIGINT, child_hashes TEXT){suffix}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {_STAGE_REPLACE} (tbl INTEGER, id BIGINT){suffix}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {_STAGE_CHANGED} (id BIGINT PRIMARY KEY, kind CHAR(1) NOT NULL, "
        f"stored_child_hashes TEXT, child_hashes TEXT){suffix}")
    cols = ", ".join(f"{quote(c)} {_stage_type(t, pg)}" for c, t in root.columns.items())
    conn.exec_driver_sql(f"CREATE TEMP TABLE {_STAGE_ROOT} ({cols}){suffix}")


def _drop_stage_tables(conn: sa.Connection) -> None:
    if not is_postgres(conn):
        for name in _STAGES:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")


def _in_stage(conn: sa.Connection, stage: str, where: str = "true") -> str:
    """``IN`` the ids of a small staging table, as an index lookup per id: "= ANY(ARRAY(...))"
    gets that plan on PostgreSQL even for tables without statistics yet (a semi-join would
    then be planned as a hash join over a full scan of the big table)."""
    ids = f"SELECT id FROM {stage} WHERE {where}"
    return f"= ANY(ARRAY({ids}))" if is_postgres(conn) else f"IN ({ids})"


def _bump_last_seen(conn: sa.Connection, root: str, month: str, lo: int, hi: int
                    ) -> pl.DataFrame:
    """Set ``last_seen_month`` to ``month`` on the present (not tombstoned) records with ids
    in [lo, hi] and return their ``id`` and ``fast_hash``: one scan for both (``month`` is a
    checked YYYY-MM). Tombstoned records and ones without a fingerprint always take the
    content-hash path."""
    return read_frame(conn, f"UPDATE {quote(root)} SET last_seen_month = '{month}' WHERE id "
                            f"BETWEEN {lo:d} AND {hi:d} AND removed_in_month IS NULL "
                            "RETURNING id, fast_hash",
                      {"id": pl.Int64, "fast_hash": pl.Int64})


def _filter_ids(frames: dict[str, pl.DataFrame], specs: tuple[TableSpec, ...],
                ids: pl.DataFrame) -> dict[str, pl.DataFrame]:
    wanted = ids.get_column("id").implode()
    return {s.name: frames[s.name].filter(pl.col(s.parent_key).is_in(wanted)) for s in specs}


def _all_hashes(frames: dict[str, pl.DataFrame], specs: tuple[TableSpec, ...]) -> pl.DataFrame:
    return record_hashes(frames, specs).join(fast_hashes(frames, specs), on="id")


@contextmanager
def _worker(name: str) -> Iterator[ThreadPoolExecutor]:
    """One background thread; on an error, work not started yet is dropped."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- the two load paths ---------------------------------------------------------------------

@dataclass
class _MonthLoad:
    """One entity's month being applied inside the load transaction."""

    conn: sa.Connection
    month: str
    input: MonthInput
    counts: ChangeCounts
    say: Log
    reader: ThreadPoolExecutor
    """Reads tables (one at a time)."""
    hasher: ThreadPoolExecutor
    """Hashes while the server works."""
    started: float = field(default_factory=time.perf_counter)

    @property
    def specs(self) -> tuple[TableSpec, ...]:
        return self.input.specs

    def progress(self, index: int, done: str) -> None:
        """One line per chunk of a multi-chunk month: a long load shows how far it is."""
        total = len(self.input.ranges)
        if total > 1:
            self.say(f"chunk {index + 1}/{total} ({(index + 1) / total:.0%}): {done}; "
                     f"{time.perf_counter() - self.started:.0f}s so far")

    def chunk(self, index: int, first: Chunk, *, streamed: bool) -> Chunk:
        return first if index == 0 else self.input.chunk(
            index, self.reader, self.counts.dangling, streamed=streamed)

    def first_load(self, first: Chunk) -> None:
        conn, specs, counts = self.conn, self.specs, self.counts
        root = specs[0]
        restores = set_indexes_aside(conn, [s.name for s in specs])
        rebuilding = 0.0
        ranges = self.input.ranges
        for index in range(len(ranges)):
            chunk = self.chunk(index, first, streamed=True)
            last = index == len(ranges) - 1
            # The root rows carry the record hashes, so they go last; hashing waits for the
            # whole chunk, and by then the first COPY is under way.
            hashing = self.hasher.submit(self._root_rows, chunk)

            def frame_of(table: str, chunk: Chunk = chunk, hashing: Future = hashing
                         ) -> pl.DataFrame:
                return hashing.result() if table == root.name else chunk.table(table)

            def table_done(table: str, last: bool = last) -> None:
                nonlocal rebuilding
                if last and restores[table]:  # complete: its index builds overlap client work
                    seconds = restore_indexes(conn, restores[table])
                    rebuilding += seconds
                    built = len(restores[table])
                    self.say(f"{table}: {built} index{'es' if built > 1 else ''} rebuilt in "
                             f"{seconds:.1f}s")

            counts.rows_written += insert_frames(
                conn, [s.name for s in (*specs[1:], root)], frame_of, table_done)
            self.progress(index, f"{counts.rows_written:,} rows written")
        if rebuilt := sum(map(len, restores.values())):
            self.say(f"rebuilt {rebuilt} indexes in {rebuilding:.1f}s")
        counts.added = counts.staged_rows
        # No ANALYZE here: autovacuum analyzes the freshly filled tables soon after the commit,
        # and the next month's diff is a hash join that needs no statistics to be chosen.
        counts.dangling.update(count_dangling(conn, root.entity))

    def _root_rows(self, chunk: Chunk) -> pl.DataFrame:
        root = self.specs[0].name
        hashes = _all_hashes(chunk.frames(), self.specs)
        return chunk.table(root).join(hashes, on="id", how="left").with_columns(
            first_seen_month=pl.lit(self.month), last_seen_month=pl.lit(self.month))

    def merge(self, first: Chunk, check_shrink: Callable[..., None]) -> None:
        """``check_shrink(present=n)`` runs once the present records are counted (by the
        last-seen bump, which a refusal rolls back with everything else)."""
        conn, specs, counts, month = self.conn, self.specs, self.counts, self.month
        root = specs[0]
        r = quote(root.name)
        pg = is_postgres(conn)
        present = self.input.ids.implode()
        ranges = self.input.ranges

        def read_and_fingerprint(index: int) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
            frames = self.chunk(index, first, streamed=False).frames()
            return frames, fast_hashes(frames, specs)

        def candidate_hashes(read: Future[tuple[dict[str, pl.DataFrame], pl.DataFrame]],
                             stored: pl.DataFrame) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
            # Candidates: new, tombstoned, or a fingerprint that differs from the stored one.
            # Only these get the (costlier) stable content hash.
            frames, fast = read.result()
            candidates = fast.join(stored, on=["id", "fast_hash"], how="anti").select("id")
            return frames, _all_hashes(_filter_ids(frames, specs, candidates), specs)

        cached: dict[str, pl.DataFrame] | None = None
        candidates = 0
        # Client work (reading, fingerprinting, hashing the candidates) runs in the hasher
        # thread and overlaps with the statements (server work): each chunk's reading with
        # the setup and the previous chunk, its candidates' hashing with the tombstones and
        # the last-seen bump.
        reading = self.hasher.submit(read_and_fingerprint, 0)
        _create_stage_tables(conn, root)
        # Present records were all last seen in the latest month applied before this one
        # (each load bumps them all), so a record found absent gets that month back.
        previous = current_month(conn, root.entity, before=month) or month
        present_count = 0
        for index, (lo, hi) in enumerate(ranges):
            stored = _bump_last_seen(conn, root.name, month, lo, hi)
            present_count += stored.height
            hashing = self.hasher.submit(candidate_hashes, reading, stored)
            if index + 1 < len(ranges):
                reading = self.hasher.submit(read_and_fingerprint, index + 1)
            gone = stored.filter(~pl.col("id").is_in(present)).select("id")
            if gone.height:  # tombstones
                insert_frame(conn, _STAGE_REMOVED, gone)
                counts.removed += conn.execute(sa.text(
                    f"UPDATE {r} SET removed_in_month = :m, last_seen_month = :previous "
                    f"WHERE removed_in_month IS NULL AND id {_in_stage(conn, _STAGE_REMOVED)}"),
                    {"m": month, "previous": previous}).rowcount
                conn.exec_driver_sql(f"DELETE FROM {_STAGE_REMOVED}")
            if index == len(ranges) - 1:
                # While the client hashes the candidates, the server counts dangling
                # references in the state; only the rewritten rows are recounted after.
                # (On a second connection in parallel it was slower: on two cores it competes
                # with the bump, and its scans must check the bump's in-progress rows.)
                dangling = count_dangling(conn, root.entity)
            frames, hashes = hashing.result()
            cached = frames if len(ranges) == 1 else None  # one chunk: no second read
            candidates += insert_frame(conn, _STAGE_HASH, hashes)
            self.progress(index, f"{present_count:,} present records compared, "
                                 f"{candidates:,} with a new fingerprint")
        check_shrink(present=present_count)
        counts.rows_written += counts.removed
        if pg:  # a few thousand candidates: index lookups into the root table, not a scan of it
            conn.exec_driver_sql(f"ANALYZE {_STAGE_HASH}")
        conn.exec_driver_sql(
            f"INSERT INTO {_STAGE_CHANGED} (id, kind, stored_child_hashes, child_hashes) SELECT "
            f"s.id, CASE WHEN t.id IS NULL THEN 'a' WHEN t.removed_in_month IS NOT NULL "
            f"THEN 'v' ELSE 'c' END, t.child_hashes, s.child_hashes "
            f"FROM {_STAGE_HASH} s LEFT JOIN {r} t ON t.id = s.id WHERE t.id IS NULL "
            f"OR t.removed_in_month IS NOT NULL OR t.content_hash <> s.content_hash")
        changed = read_frame(
            conn, f"SELECT id, kind, stored_child_hashes, child_hashes FROM {_STAGE_CHANGED}",
            {"id": pl.Int64, "kind": pl.Utf8, "stored": pl.Utf8, "child_hashes": pl.Utf8})
        if changed.height < candidates:
            # Same content, new fingerprint (e.g. after a polars upgrade): refresh it; not a
            # change.
            conn.exec_driver_sql(
                f"UPDATE {r} SET fast_hash = s.fast_hash, child_hashes = s.child_hashes "
                f"FROM {_STAGE_HASH} s WHERE s.id = {r}.id "
                f"AND s.id NOT IN (SELECT id FROM {_STAGE_CHANGED})")
        kinds = dict(changed.get_column("kind").value_counts().iter_rows())
        counts.added, counts.changed, counts.revived = (kinds.get(k, 0) for k in "acv")
        if changed.height:
            self.say(f"{counts.staged_rows} records staged: {counts.added} added, "
                     f"{counts.changed} changed, {counts.revived} revived, {counts.removed} "
                     "removed; writing those")
            dangling = self._write_changed(cached, dangling, changed)
        counts.dangling.update(dangling)
        _drop_stage_tables(conn)

    def _write_changed(self, cached: dict[str, pl.DataFrame] | None,
                       dangling: dict[str, int], changed: pl.DataFrame) -> dict[str, int]:
        """Replace the child rows of added/changed/revived records, only in the child tables
        whose rows changed, and upsert their root rows (an upsert, not delete + insert, so
        runtime columns and first_seen_month survive). Returns ``dangling`` (counted before)
        corrected for the rows written."""
        conn, specs, counts = self.conn, self.specs, self.counts
        root = specs[0]
        r = quote(root.name)
        replace = _child_tables_to_replace(changed, len(specs))
        insert_frame(conn, _STAGE_REPLACE, replace)
        table_index = {spec.name: index for index, spec in enumerate(specs)}

        def written(table: str) -> str:
            if table == root.name:
                return f"c.id {_in_stage(conn, _STAGE_CHANGED)}"
            key = quote(TABLES_BY_NAME[table].parent_key)
            return f"c.{key} {_in_stage(conn, _STAGE_REPLACE, f'tbl = {table_index[table]:d}')}"

        dangling_before_write = count_dangling(conn, root.entity, written)
        replaced = {i: replace.filter(pl.col("tbl") == i).select("id")
                    for i in range(1, len(specs))}
        for index, spec in enumerate(specs[1:], start=1):
            if replaced[index].height:
                deleted = conn.execute(sa.text(
                    f"DELETE FROM {quote(spec.name)} WHERE {quote(spec.parent_key)} "
                    f"{_in_stage(conn, _STAGE_REPLACE, 'tbl = :tbl')}"),
                    {"tbl": index}).rowcount
                counts.rows_written += max(deleted, 0)
        for index, (lo, hi) in enumerate(self.input.ranges):
            ids = changed.filter(pl.col("id").is_between(lo, hi)).select("id")
            if ids.height == 0:
                continue
            frames = cached or self.input.chunk(index, self.reader, None,
                                                streamed=False).frames()
            insert_frame(conn, _STAGE_ROOT, _filter_ids(frames, specs[:1], ids)[root.name])
            for t, spec in enumerate(specs[1:], start=1):
                counts.rows_written += insert_frame(
                    conn, spec.name, _filter_ids(frames, (spec,), replaced[t])[spec.name])
        data_cols = list(root.columns)
        selected = ", ".join(f"s.{quote(c)}" for c in data_cols)
        updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in data_cols if c != "id")
        counts.rows_written += conn.execute(sa.text(
            f"INSERT INTO {r} ({column_list(data_cols)}, content_hash, fast_hash, child_hashes, "
            f"first_seen_month, last_seen_month, removed_in_month) SELECT {selected}, "
            f"h.content_hash, h.fast_hash, h.child_hashes, :m, :m, NULL FROM {_STAGE_ROOT} s "
            f"JOIN {_STAGE_HASH} h ON h.id = s.id WHERE true ON CONFLICT (id) DO UPDATE SET "
            f"{updates}, content_hash = excluded.content_hash, fast_hash = excluded.fast_hash, "
            f"child_hashes = excluded.child_hashes, "
            f"last_seen_month = excluded.last_seen_month, removed_in_month = NULL"),
            {"m": self.month}).rowcount
        return corrected(dangling, dangling_before_write,
                         count_dangling(conn, root.entity, written))


def _child_tables_to_replace(changed: pl.DataFrame, tables: int) -> pl.DataFrame:
    """``tbl`` (index in the entity's tables) and ``id`` for each child table whose rows a
    written record needs replaced: every table of an added or revived record (or of one
    without stored per-table hashes), only the tables whose hash moved for a changed one.
    ``changed``: ``id``, ``kind``, ``stored`` and ``child_hashes`` of the written records."""

    def digest(column: str, index: int) -> pl.Expr:
        return pl.col(column).str.slice(16 * (index - 1), 16)

    return pl.concat([
        changed.filter(~((pl.col("kind") == "c")
                         & (digest("stored", i) == digest("child_hashes", i)))
                    .fill_null(False))
        .select(pl.lit(i, dtype=pl.Int32).alias("tbl"), "id")
        for i in range(1, tables)])


def _check_shrink(
    *, entity: str, month: str, staged: int, present: int, max_shrink: float,
    allow_shrink: bool, parsed_dir: Path, say: Log,
) -> None:
    if staged == 0:
        problem = f"the month has no {entity} records ({present} present in the warehouse)"
    elif present and staged < present * (1 - max_shrink):
        problem = (f"{staged} {entity} records vs {present} present in the warehouse: a drop of "
                   f"{1 - staged / present:.1%}, more than the allowed {max_shrink:.0%}")
    else:
        return
    if allow_shrink:
        say(f"shrink guard overridden for this run (allow_shrink): {problem}")
        return
    raise ShrinkGuardError(
        f"refusing to apply {entity} {month} from {parsed_dir.name}/: {problem}. Check the "
        "parsed files; to apply anyway, rerun with allow_shrink=True for this run."
    )


def load_month(
    engine: sa.Engine,
    *,
    month: str,
    entity: str,
    parsed_dir: Path,
    max_shrink: float = 0.10,
    allow_shrink: bool = False,
    log: Any = None,
    run_id: str | None = None,
    lock_wait_s: float = 3600.0,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> LoadResult:
    """Apply month ``month`` of ``entity`` from ``parsed_dir/<table>.parquet`` (see module doc).

    ``log`` is a callable taking a string or a logger (``.info`` is used). Raises
    :class:`ShrinkGuardError`, :class:`ParsedInputError`, ``HashSchemeError`` or
    ``WarehouseBusy``.
    """
    check_month(month)
    say = _sayer(log)
    what = f"warehouse load {entity} {month}"
    started = time.perf_counter()
    month_input = MonthInput.open(parsed_dir, entity, chunk_rows)
    records = month_input.ids.len()
    counts = ChangeCounts(staged_rows=records)
    result = LoadResult(entity=entity, month=month, staged_rows=records,
                        input_rows=month_input.rows)

    with load_transaction(engine, wait_s=lock_wait_s, log=say, what=what) as conn:
        current = current_month(conn, entity)
        if current is not None and month < current:
            result.historical = True
            result.message = (
                f"{what}: historical snapshot only: the warehouse already holds {entity} of "
                f"{current}, newer than {month}, so the current state was left unchanged "
                f"(the month's Parquet files stay in place; {records} records recorded)")
            record_changes(conn, month=month, entity=entity, counts=ChangeCounts(
                staged_rows=records), historical=True, seconds=0.0, run_id=run_id)
            say(result.message)
            result.seconds = time.perf_counter() - started
            return result

        with _worker("warehouse-read") as reader, _worker("warehouse-hash") as hasher:
            result.first_load = not any(_has_rows(conn, s.name) for s in month_input.specs)
            check_hash_scheme(conn, entity, has_rows=not result.first_load)
            # Reading the first chunk overlaps with the checks below and the load's setup; a
            # first load writes each table as soon as it is read.
            first = month_input.chunk(0, reader, counts.dangling, streamed=result.first_load)
            check_shrink = partial(_check_shrink, entity=entity, month=month, staged=records,
                                   max_shrink=max_shrink, allow_shrink=allow_shrink,
                                   parsed_dir=parsed_dir, say=say)
            say(f"{what}: {records} records, {month_input.rows} rows in "
                f"{len(month_input.specs)} tables; "
                + ("first load (bulk path)" if result.first_load
                   else f"merging (current month {current})"))
            load = _MonthLoad(conn=conn, month=month, input=month_input, counts=counts, say=say,
                              reader=reader, hasher=hasher)
            if result.first_load:
                check_shrink(present=0)
                load.first_load(first)
            else:
                load.merge(first, check_shrink)
        result.seconds = time.perf_counter() - started
        record_changes(conn, month=month, entity=entity, counts=counts, historical=False,
                       seconds=result.seconds, run_id=run_id)

    result.added, result.changed, result.revived = counts.added, counts.changed, counts.revived
    result.removed, result.unchanged = counts.removed, counts.unchanged
    result.rows_written, result.dangling = counts.rows_written, counts.dangling
    result.seconds = time.perf_counter() - started
    dangling = {k: v for k, v in result.dangling.items() if v}
    result.message = (
        f"{what}: {result.added} added, {result.changed} changed, {result.removed} removed, "
        f"{result.revived} revived, {result.unchanged} unchanged; {result.rows_written} rows "
        f"written in {result.seconds:.1f}s ({result.rows_per_s:,.0f} input rows/s)"
        + (f"; dangling references kept: {dangling}" if dangling else ""))
    say(result.message)
    return result
