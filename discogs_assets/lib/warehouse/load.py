"""Loading one month of one entity into the current-state tables.

The whole entity loads in one transaction holding the warehouse load lock, so a crash or a
kill at any point leaves the last committed state and the next run simply redoes the month.

Two paths, same result:

* first load (every table of the entity empty): rows go straight into the target tables
  (COPY on PostgreSQL, executemany on SQLite) with the indexes (on PostgreSQL the primary
  keys too) dropped first and rebuilt once per table as soon as its last rows are in, far
  cheaper than row-by-row upkeep; hashing and the next table's COPY encoding run in threads
  while the server takes rows and builds indexes.
* merge (steady state): reading and fingerprinting the month (``fast_hash``) starts first, in
  a thread, while the server tombstones absent ids and bumps ``last_seen_month`` and the
  stored fingerprints are fetched (COPY); records whose fingerprint differs from the stored
  one (or that are new or tombstoned) are the candidates, and only they get the stable content
  hash, which decides added / changed / revived (staged in temporary tables, never
  WAL-logged). Only those records' rows are written: root rows upserted so runtime columns and
  first_seen_month survive; child rows deleted (index lookups) and re-inserted only in the
  child tables whose per-table fingerprint (``child_hashes``) moved. Root tables keep half of
  each page free (fillfactor 50) so the ``last_seen_month`` bump stays HOT.

Monotonic: a month older than the entity's current month is recorded as historical in
``month_changes`` and changes nothing else. Shrink guard: a month whose record count is zero
or dropped by more than ``max_shrink`` against the current state is refused unless
``allow_shrink`` is set for that run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.layout import check_month
from discogs_assets.lib.tables import TableSpec, tables_for
from discogs_assets.lib.warehouse.bulk import (
    column_list,
    insert_frame,
    insert_frames,
    quote,
    read_frame,
)
from discogs_assets.lib.warehouse.changes import ChangeCounts, current_month, record_changes
from discogs_assets.lib.warehouse.engine import execute_literal, is_postgres
from discogs_assets.lib.warehouse.hashing import content_hashes, fast_hashes, fingerprints
from discogs_assets.lib.warehouse.integrity import count_dangling
from discogs_assets.lib.warehouse.lock import load_transaction
from discogs_assets.lib.warehouse.schema import sql_type

DEFAULT_CHUNK_ROWS = 200_000
"""Root records read and hashed at a time (bounds memory; child rows come along)."""
_ID_MIN, _ID_MAX = -(2**63), 2**63 - 1
_STAGE_REMOVED, _STAGE_HASH = "stage_removed", "stage_hash"
_STAGE_CHANGED, _STAGE_ROOT, _STAGE_REPLACE = "stage_changed", "stage_root", "stage_replace"
_STAGES = (_STAGE_REMOVED, _STAGE_HASH, _STAGE_CHANGED, _STAGE_ROOT, _STAGE_REPLACE)

Log = Callable[[str], None]
Chunk = Future[dict[str, pl.DataFrame]]
"""The first chunk's tables, read while the load checks and sets up."""


class ShrinkGuardError(NonRetryableError):
    """A month's record count is zero or dropped too far against the current state."""


class ParsedInputError(NonRetryableError):
    """The month's Parquet tables are missing, mistyped or hold duplicate record ids."""


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


# -- input ---------------------------------------------------------------------------------

def _input_paths(parsed_dir: Path, specs: tuple[TableSpec, ...]) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for spec in specs:
        path = parsed_dir / f"{spec.name}.parquet"
        if not path.is_file():
            raise ParsedInputError(f"{path}: missing; a month needs every table of {spec.entity}")
        found = pl.read_parquet_schema(path)
        if dict(found) != spec.columns:
            diffs = [
                f"{c}: expected {spec.columns.get(c)}, found {found.get(c)}"
                for c in dict.fromkeys([*spec.columns, *found])
                if spec.columns.get(c) != found.get(c)
            ]
            raise ParsedInputError(f"{path}: columns differ from the contract: {'; '.join(diffs)}")
        paths[spec.name] = path
    return paths


def _root_ids(path: Path) -> pl.Series:
    ids = pl.read_parquet(path, columns=["id"]).get_column("id").sort()
    if ids.null_count():
        raise ParsedInputError(f"{path}: {ids.null_count()} rows have no id")
    dup = ids.filter(ids.is_duplicated())
    if dup.len():
        raise ParsedInputError(f"{path}: duplicate record id {dup[0]} ({dup.n_unique()} ids "
                               "appear more than once)")
    return ids


def _id_ranges(ids: pl.Series, chunk_rows: int) -> list[tuple[int, int]]:
    """Closed id ranges of about ``chunk_rows`` records covering every possible id (so child
    rows whose parent is missing are read too, and counted)."""
    cuts = ids.gather_every(chunk_rows).to_list()[1:] if ids.len() else []
    lows = [_ID_MIN, *cuts]
    highs = [c - 1 for c in cuts] + [_ID_MAX]
    return list(zip(lows, highs, strict=True))


def _read_chunk(
    paths: dict[str, Path], specs: tuple[TableSpec, ...], lo: int, hi: int,
    orphans: dict[str, int] | None,
) -> dict[str, pl.DataFrame]:
    """Every table's rows whose record id lies in [lo, hi]; child rows without a parent
    record are dropped (and counted in ``orphans`` when given)."""
    # One collect_all: polars reads (and checks) the tables in parallel.
    names = [s.name for s in specs]
    frames = dict(zip(names, pl.collect_all([
        pl.scan_parquet(paths[s.name]).filter(pl.col(s.parent_key).is_between(lo, hi))
        for s in specs]), strict=True))
    duplicated = pl.collect_all([
        frames[s.name].lazy().select(pl.struct(s.unique_key).is_duplicated().any())
        for s in specs[1:]])
    ids = frames[specs[0].name].get_column("id").implode()
    for spec, dup_any in zip(specs[1:], duplicated, strict=True):
        df = frames[spec.name]
        if dup_any.item():
            key = list(spec.unique_key)
            dup = df.select(key).filter(df.select(key).is_duplicated())
            raise ParsedInputError(
                f"{paths[spec.name]}: duplicate key ({', '.join(key)}) = {dup.row(0)} "
                f"({dup.height} rows share a key)")
        kept = df.filter(pl.col(spec.parent_key).is_in(ids))  # several times a semi-join's speed
        if orphans is not None and kept.height != df.height:
            name = f"{spec.name}.{spec.parent_key}"
            orphans[name] = orphans.get(name, 0) + df.height - kept.height
        frames[spec.name] = kept
    return frames


def _filter_ids(frames: dict[str, pl.DataFrame], specs: tuple[TableSpec, ...],
                ids: pl.DataFrame) -> dict[str, pl.DataFrame]:
    wanted = ids.get_column("id").implode()
    return {s.name: frames[s.name].filter(pl.col(s.parent_key).is_in(wanted)) for s in specs}


# -- SQL helpers ----------------------------------------------------------------------------

def _scalar(conn: sa.Connection, sql: str, **params: Any) -> Any:
    return conn.execute(sa.text(sql), params).scalar()


def _has_rows(conn: sa.Connection, table: str) -> bool:
    return _scalar(conn, f"SELECT 1 FROM {quote(table)} LIMIT 1") is not None


def _droppable_indexes(conn: sa.Connection, table: str) -> list[tuple[str, str]]:
    """(drop, restore) statements for the table's indexes that a bulk load can do without:
    on PostgreSQL the primary key too (rebuilt by one sort instead of row by row); SQLite
    cannot drop a primary key, so only its secondary indexes."""
    if not is_postgres(conn):
        rows = conn.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
            "AND sql IS NOT NULL"), {"t": table})
        return [(f"DROP INDEX {quote(name)}", ddl) for name, ddl in rows]
    t = quote(table)
    keys = conn.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
        "CAST(:t AS regclass) AND contype = 'p'"), {"t": table}).all()
    indexes = conn.execute(sa.text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = "
        "current_schema() AND i.tablename = :t AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conname = i.indexname AND c.contype IN ('p', 'u'))"), {"t": table}).all()
    return [(f"ALTER TABLE {t} DROP CONSTRAINT {quote(name)}",
             f"ALTER TABLE {t} ADD CONSTRAINT {quote(name)} {ddl}") for name, ddl in keys] + [
        (f"DROP INDEX {quote(name)}", ddl) for name, ddl in indexes]


def _set_indexes_aside(conn: sa.Connection, tables: list[str]) -> dict[str, list[str]]:
    """Drop the tables' indexes for a bulk load; returns each table's restore statements,
    run inside the same transaction (a failure rolls the drops back too)."""
    restores: dict[str, list[str]] = {}
    for table in tables:
        saved = _droppable_indexes(conn, table)
        for drop, _ in saved:
            execute_literal(conn, drop)
        restores[table] = [restore for _, restore in saved]
    if is_postgres(conn):
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    return restores


def _restore_indexes(conn: sa.Connection, statements: list[str]) -> float:
    """Rebuild one table's indexes (definitions from the catalog, verbatim); seconds taken."""
    started = time.perf_counter()
    for statement in statements:
        execute_literal(conn, statement)
    return time.perf_counter() - started


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


# -- the two load paths ---------------------------------------------------------------------

def _first_load(
    conn: sa.Connection, month: str, specs: tuple[TableSpec, ...], paths: dict[str, Path],
    ranges: list[tuple[int, int]], counts: ChangeCounts, say: Log, first: Chunk,
) -> None:
    root = specs[0]
    restores = _set_indexes_aside(conn, [s.name for s in specs])
    rebuilding = 0.0
    with ThreadPoolExecutor(max_workers=1) as pool:
        for index, (lo, hi) in enumerate(ranges):
            last = index == len(ranges) - 1
            frames = first.result() if index == 0 else _read_chunk(paths, specs, lo, hi,
                                                                   counts.dangling)
            # Hash in a thread while the child rows stream out: polars and the database
            # driver release the GIL, so the two overlap on two cores.
            hashing = pool.submit(_both_hashes, frames, specs)

            def table_done(table: str, last: bool = last) -> None:
                nonlocal rebuilding
                if last:  # the table is complete: its index builds overlap client work
                    rebuilding += _restore_indexes(conn, restores[table])

            counts.rows_written += insert_frames(
                conn, [(s.name, frames[s.name]) for s in specs[1:]], table_done)
            rows = frames[root.name].join(hashing.result(), on="id", how="left").with_columns(
                first_seen_month=pl.lit(month), last_seen_month=pl.lit(month))
            counts.rows_written += insert_frame(conn, root.name, rows)
    rebuilding += _restore_indexes(conn, restores[root.name])
    if rebuilt := sum(map(len, restores.values())):
        say(f"rebuilt {rebuilt} indexes in {rebuilding:.1f}s")
    counts.added = counts.staged_rows
    # No ANALYZE here: autovacuum analyzes the freshly filled tables soon after the commit,
    # and the next month's diff is a hash join that needs no statistics to be chosen.
    counts.dangling.update(count_dangling(conn, root.entity))


def _both_hashes(frames: dict[str, pl.DataFrame], specs: tuple[TableSpec, ...]) -> pl.DataFrame:
    return content_hashes(frames, specs).join(fingerprints(frames, specs), on="id")


def _merge(
    conn: sa.Connection, month: str, specs: tuple[TableSpec, ...], paths: dict[str, Path],
    ranges: list[tuple[int, int]], counts: ChangeCounts, say: Log, ids: pl.Series,
    first: Chunk,
) -> None:
    root = specs[0]
    r = quote(root.name)
    pg = is_postgres(conn)
    present = ids.implode()

    def read_and_fingerprint(index: int) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
        frames = first.result() if index == 0 else _read_chunk(paths, specs, *ranges[index],
                                                               counts.dangling)
        return frames, fast_hashes(frames, specs)

    cached: dict[str, pl.DataFrame] | None = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Reading and fingerprinting (client CPU) start first and overlap with the statements
        # up to the pick of candidates (server CPU), each chunk's with the previous one's.
        pending = pool.submit(read_and_fingerprint, 0)
        _create_stage_tables(conn, root)
        for index, (lo, hi) in enumerate(ranges):
            stored = _stored_fingerprints(conn, root.name, lo, hi)
            gone = stored.filter(~pl.col("id").is_in(present)).select("id")
            if gone.height:  # tombstones
                insert_frame(conn, _STAGE_REMOVED, gone)
                counts.removed += conn.execute(sa.text(
                    f"UPDATE {r} SET removed_in_month = :m WHERE removed_in_month IS NULL "
                    f"AND id {_in_stage(conn, _STAGE_REMOVED)}"), {"m": month}).rowcount
                conn.exec_driver_sql(f"DELETE FROM {_STAGE_REMOVED}")
            # Every record of the range still present is in this month; written ones get the
            # month again below.
            conn.execute(sa.text(
                f"UPDATE {r} SET last_seen_month = :m WHERE id BETWEEN :lo AND :hi "
                f"AND removed_in_month IS NULL AND last_seen_month <> :m"),
                {"m": month, "lo": lo, "hi": hi})
            frames, fast = pending.result()
            if index + 1 < len(ranges):
                pending = pool.submit(read_and_fingerprint, index + 1)
            cached = frames if len(ranges) == 1 else None  # one chunk: no second read
            # Candidates: new, tombstoned, or a fingerprint that differs from the stored one.
            # Only these get the (costlier) stable content hash.
            candidates = fast.join(stored, on=["id", "fast_hash"], how="anti").select("id")
            if candidates.height:
                insert_frame(conn, _STAGE_HASH,
                             _both_hashes(_filter_ids(frames, specs, candidates), specs))
    counts.rows_written += counts.removed
    if pg:  # a few thousand candidates: index lookups into the root table, not a scan of it
        conn.exec_driver_sql(f"ANALYZE {_STAGE_HASH}")
    conn.exec_driver_sql(
        f"INSERT INTO {_STAGE_CHANGED} (id, kind, stored_child_hashes, child_hashes) SELECT s.id, "
        f"CASE WHEN t.id IS NULL THEN 'a' WHEN t.removed_in_month IS NOT NULL THEN 'v' ELSE 'c' "
        f"END, t.child_hashes, s.child_hashes "
        f"FROM {_STAGE_HASH} s LEFT JOIN {r} t ON t.id = s.id WHERE t.id IS NULL "
        f"OR t.removed_in_month IS NOT NULL OR t.content_hash <> s.content_hash")
    # Same content, new fingerprint (e.g. after a polars upgrade): refresh it, not a change.
    conn.exec_driver_sql(
        f"UPDATE {r} SET fast_hash = s.fast_hash, child_hashes = s.child_hashes "
        f"FROM {_STAGE_HASH} s WHERE s.id = {r}.id "
        f"AND s.id NOT IN (SELECT id FROM {_STAGE_CHANGED})")
    kinds = dict(conn.execute(sa.text(
        f"SELECT kind, COUNT(*) FROM {_STAGE_CHANGED} GROUP BY kind")).all())
    counts.added, counts.changed, counts.revived = (kinds.get(k, 0) for k in "acv")
    if kinds:
        say(f"{counts.staged_rows} records staged: {counts.added} added, {counts.changed} "
            f"changed, {counts.revived} revived, {counts.removed} removed; writing those")
        _write_changed(conn, month, specs, paths, ranges, counts, cached)
    counts.dangling.update(count_dangling(conn, root.entity))
    _drop_stage_tables(conn)


def _in_stage(conn: sa.Connection, stage: str, where: str = "true") -> str:
    """``IN`` the ids of a small staging table, as an index lookup per id: "= ANY(ARRAY(...))"
    gets that plan on PostgreSQL even for tables without statistics yet (a semi-join would
    then be planned as a hash join over a full scan of the big table)."""
    ids = f"SELECT id FROM {stage} WHERE {where}"
    return f"= ANY(ARRAY({ids}))" if is_postgres(conn) else f"IN ({ids})"


def _stored_fingerprints(conn: sa.Connection, root: str, lo: int, hi: int) -> pl.DataFrame:
    """``id`` and ``fast_hash`` of the present (not tombstoned) records with ids in [lo, hi]
    (tombstoned ones and ones without a fingerprint always take the content-hash path)."""
    return read_frame(conn, f"SELECT id, fast_hash FROM {quote(root)} WHERE id BETWEEN {lo:d} "
                            f"AND {hi:d} AND removed_in_month IS NULL",
                      {"id": pl.Int64, "fast_hash": pl.Int64})


def _ids_between(conn: sa.Connection, lo: int, hi: int) -> pl.DataFrame:
    """The ids in ``stage_changed`` within [lo, hi]."""
    return pl.DataFrame({"id": pl.Series(conn.execute(sa.text(
        f"SELECT id FROM {_STAGE_CHANGED} WHERE id BETWEEN :lo AND :hi"),
        {"lo": lo, "hi": hi}).scalars().all(), dtype=pl.Int64)})


def _write_changed(
    conn: sa.Connection, month: str, specs: tuple[TableSpec, ...], paths: dict[str, Path],
    ranges: list[tuple[int, int]], counts: ChangeCounts,
    cached: dict[str, pl.DataFrame] | None,
) -> None:
    """Replace the child rows of added/changed/revived records, only in the child tables
    whose rows changed, and upsert their root rows (an upsert, not delete + insert, so
    runtime columns and first_seen_month survive)."""
    root = specs[0]
    r = quote(root.name)
    replace = _child_tables_to_replace(conn, specs)
    insert_frame(conn, _STAGE_REPLACE, replace)
    replaced = {i: replace.filter(pl.col("tbl") == i).select("id") for i in range(1, len(specs))}
    for index, spec in enumerate(specs[1:], start=1):
        if replaced[index].height:
            deleted = conn.execute(sa.text(
                f"DELETE FROM {quote(spec.name)} WHERE {quote(spec.parent_key)} "
                f"{_in_stage(conn, _STAGE_REPLACE, 'tbl = :tbl')}"),
                {"tbl": index}).rowcount
            counts.rows_written += max(deleted, 0)
    for lo, hi in ranges:
        ids = _ids_between(conn, lo, hi)
        if ids.height == 0:
            continue
        frames = cached or _read_chunk(paths, specs, lo, hi, None)
        insert_frame(conn, _STAGE_ROOT, _filter_ids(frames, specs[:1], ids)[root.name])
        for index, spec in enumerate(specs[1:], start=1):
            counts.rows_written += insert_frame(
                conn, spec.name, _filter_ids(frames, (spec,), replaced[index])[spec.name])
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
        {"m": month}).rowcount


def _child_tables_to_replace(conn: sa.Connection, specs: tuple[TableSpec, ...]) -> pl.DataFrame:
    """``tbl`` (index in ``specs``) and ``id`` for each child table whose rows a written
    record needs replaced: every table of an added or revived record (or of one without
    stored per-table fingerprints), only the tables whose fingerprint moved for a changed
    one."""
    rows = read_frame(
        conn, f"SELECT id, kind, stored_child_hashes, child_hashes FROM {_STAGE_CHANGED}",
        {"id": pl.Int64, "kind": pl.Utf8, "stored": pl.Utf8, "child_hashes": pl.Utf8})

    def digest(column: str, index: int) -> pl.Expr:
        return pl.col(column).str.slice(16 * (index - 1), 16)

    return pl.concat([
        rows.filter(~((pl.col("kind") == "c") & (digest("stored", i) == digest("child_hashes", i)))
                    .fill_null(False))
        .select(pl.lit(i, dtype=pl.Int32).alias("tbl"), "id")
        for i in range(1, len(specs))])


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
    :class:`ShrinkGuardError`, :class:`ParsedInputError` or ``WarehouseBusy``.
    """
    check_month(month)
    specs = tables_for(entity)
    root = specs[0]
    say = _sayer(log)
    what = f"warehouse load {entity} {month}"
    started = time.perf_counter()
    paths = _input_paths(parsed_dir, specs)
    ids = _root_ids(paths[root.name])
    ranges = _id_ranges(ids, chunk_rows)
    input_rows = sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in paths.values())
    counts = ChangeCounts(staged_rows=ids.len())
    result = LoadResult(entity=entity, month=month, staged_rows=ids.len(), input_rows=input_rows)

    with load_transaction(engine, wait_s=lock_wait_s, log=say, what=what) as conn:
        current = current_month(conn, entity)
        if current is not None and month < current:
            result.historical = True
            result.message = (
                f"{what}: historical snapshot only: the warehouse already holds {entity} of "
                f"{current}, newer than {month}, so the current state was left unchanged "
                f"(the month's Parquet files stay in place; {ids.len()} records recorded)")
            record_changes(conn, month=month, entity=entity, counts=ChangeCounts(
                staged_rows=ids.len()), historical=True, seconds=0.0, run_id=run_id)
            say(result.message)
            result.seconds = time.perf_counter() - started
            return result

        with ThreadPoolExecutor(max_workers=1) as prefetch:
            # Reading the first chunk overlaps with the checks below and the load's setup.
            first = prefetch.submit(_read_chunk, paths, specs, *ranges[0], counts.dangling)
            present = _scalar(conn, f"SELECT COUNT(*) FROM {quote(root.name)} "
                                    "WHERE removed_in_month IS NULL")
            _check_shrink(entity=entity, month=month, staged=ids.len(), present=present,
                          max_shrink=max_shrink, allow_shrink=allow_shrink, parsed_dir=parsed_dir,
                          say=say)
            result.first_load = not any(_has_rows(conn, s.name) for s in specs)
            say(f"{what}: {ids.len()} records, {input_rows} rows in {len(specs)} tables; "
                + ("first load (bulk path)" if result.first_load
                   else f"merging into {present} present records (current month {current})"))
            if result.first_load:
                _first_load(conn, month, specs, paths, ranges, counts, say, first)
            else:
                _merge(conn, month, specs, paths, ranges, counts, say, ids, first)
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
