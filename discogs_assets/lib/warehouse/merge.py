"""A steady month (the entity already has rows): only what changed is written.

1. Compare, chunk by chunk: reading and fingerprinting the month (``fast_hash``) run in a
   thread while the server returns the stored fingerprints of the present records (a read:
   an unchanged record's row is never written, its "last seen" is the entity's current
   month); the absent ones are tombstoned with the month they were last seen in. Records
   whose fingerprint differs from the stored one (or that are new or tombstoned) are the
   candidates, and only they get the stable content hash, staged in a temporary table.
   Dangling references are counted in the state before the writes, while the client hashes.
2. Shrink guard, on the present count the comparison found.
3. Classify: the candidates' content hashes decide added / changed / revived (a candidate
   with the same content only gets its new fingerprint).
4. Write: only those records' rows. Root rows are upserted, so runtime columns and
   first_seen_month survive; child rows are deleted (index lookups) and re-inserted only in
   the child tables whose per-table hash (``child_hashes``) moved. The dangling counts are
   corrected for the rewritten rows only.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

import polars as pl
import sqlalchemy as sa

from discogs_assets.lib.tables import TABLES_BY_NAME, TableSpec
from discogs_assets.lib.warehouse.bulk import column_list, insert_frame, quote, read_frame
from discogs_assets.lib.warehouse.changes import current_month
from discogs_assets.lib.warehouse.engine import is_postgres
from discogs_assets.lib.warehouse.hashing import all_hashes, fast_hashes
from discogs_assets.lib.warehouse.integrity import corrected, count_dangling
from discogs_assets.lib.warehouse.month_input import Chunk
from discogs_assets.lib.warehouse.month_load import MonthLoad
from discogs_assets.lib.warehouse.staging import (
    STAGE_CHANGED,
    STAGE_HASH,
    STAGE_REMOVED,
    STAGE_REPLACE,
    STAGE_ROOT,
    create_stage_tables,
    drop_stage_tables,
    in_stage,
)

Frames = dict[str, pl.DataFrame]


def merge(load: MonthLoad, first: Chunk, check_shrink: Callable[..., None]) -> None:
    """Apply the month (``first``: chunk 0, read ahead). ``check_shrink(present=n)`` runs once
    the present records are counted (a refusal rolls back everything done before)."""
    conn = load.conn
    create_stage_tables(conn, load.root)
    present, candidates, cached, dangling = _compare(load, first)
    check_shrink(present=present)
    load.counts.rows_written += load.counts.removed
    changed = _classify(load, candidates)
    if changed.height:
        counts = load.counts
        load.say(f"{counts.staged_rows} records staged: {counts.added} added, "
                 f"{counts.changed} changed, {counts.revived} revived, {counts.removed} "
                 "removed; writing those")
        dangling = _write_changed(load, cached, dangling, changed)
    load.counts.dangling.update(dangling)
    drop_stage_tables(conn)


def _stored_fingerprints(conn: sa.Connection, root: str, lo: int, hi: int) -> pl.DataFrame:
    """``id`` and ``fast_hash`` of the present (not tombstoned) records with ids in [lo, hi].
    Tombstoned records and ones without a fingerprint always take the content-hash path."""
    return read_frame(conn, f"SELECT id, fast_hash FROM {quote(root)} WHERE id BETWEEN {lo:d} "
                            f"AND {hi:d} AND removed_in_month IS NULL",
                      {"id": pl.Int64, "fast_hash": pl.Int64})


def _compare(load: MonthLoad, first: Chunk
             ) -> tuple[int, int, Frames | None, dict[str, int]]:
    """Step 1 over every chunk: tombstones written, candidates' hashes staged. Returns the
    present count, the candidate count, the frames when the month is one chunk (no second
    read needed) and the dangling counts of the state before any write."""
    conn, specs, counts, month = load.conn, load.specs, load.counts, load.month
    r = quote(load.root.name)
    present_ids = load.input.ids.implode()
    ranges = load.input.ranges

    def read_and_fingerprint(index: int) -> tuple[Frames, pl.DataFrame]:
        frames = load.chunk(index, first, streamed=False).frames()
        return frames, fast_hashes(frames, specs)

    def candidate_hashes(read: Future[tuple[Frames, pl.DataFrame]], stored: pl.DataFrame
                         ) -> tuple[Frames, pl.DataFrame]:
        # Candidates: new, tombstoned, or a fingerprint that differs from the stored one.
        # Only these get the (costlier) stable content hash.
        frames, fast = read.result()
        candidates = fast.join(stored, on=["id", "fast_hash"], how="anti").select("id")
        return frames, all_hashes(_filter_ids(frames, specs, candidates), specs)

    # Client work (reading, fingerprinting, hashing the candidates) runs in the hasher thread
    # and overlaps with the statements (server work): each chunk's reading with the setup or
    # the previous chunk's staging and this chunk's stored fingerprints, its candidates'
    # hashing with its tombstones (and, after the last chunk, the dangling count).
    reading = load.hasher.submit(read_and_fingerprint, 0)
    # A present record was seen in the entity's current month (the newest applied, this one
    # on a rerun): a record found absent was last seen then.
    last_seen = current_month(conn, load.root.entity)
    present = candidates = 0
    cached: Frames | None = None
    dangling: dict[str, int] = {}
    for index, (lo, hi) in enumerate(ranges):
        stored = _stored_fingerprints(conn, load.root.name, lo, hi)
        present += stored.height
        hashing = load.hasher.submit(candidate_hashes, reading, stored)
        if index + 1 < len(ranges):
            reading = load.hasher.submit(read_and_fingerprint, index + 1)
        gone = stored.filter(~pl.col("id").is_in(present_ids)).select("id")
        if gone.height:  # tombstones
            insert_frame(conn, STAGE_REMOVED, gone)
            counts.removed += conn.execute(sa.text(
                f"UPDATE {r} SET removed_in_month = :m, last_seen_month = :last_seen "
                f"WHERE removed_in_month IS NULL AND id {in_stage(conn, STAGE_REMOVED)}"),
                {"m": month, "last_seen": last_seen}).rowcount
            conn.exec_driver_sql(f"DELETE FROM {STAGE_REMOVED}")
        if index == len(ranges) - 1:
            # While the client hashes the candidates, the server counts dangling references
            # in the state; only the rewritten rows are recounted after.
            dangling = count_dangling(conn, load.root.entity)
        frames, hashes = hashing.result()
        cached = frames if len(ranges) == 1 else None
        candidates += insert_frame(conn, STAGE_HASH, hashes)
        load.progress(index, f"{present:,} present records compared, "
                             f"{candidates:,} with a new fingerprint")
    return present, candidates, cached, dangling


def _classify(load: MonthLoad, candidates: int) -> pl.DataFrame:
    """Step 3: the candidates whose content changed (``id``, ``kind``, ``stored``,
    ``child_hashes``), staged in STAGE_CHANGED and counted; the others get their new
    fingerprint."""
    conn, counts = load.conn, load.counts
    r = quote(load.root.name)
    if is_postgres(conn):  # a few thousand candidates: index lookups into the root table
        conn.exec_driver_sql(f"ANALYZE {STAGE_HASH}")
    conn.exec_driver_sql(
        f"INSERT INTO {STAGE_CHANGED} (id, kind, stored_child_hashes, child_hashes) SELECT "
        f"s.id, CASE WHEN t.id IS NULL THEN 'a' WHEN t.removed_in_month IS NOT NULL "
        f"THEN 'v' ELSE 'c' END, t.child_hashes, s.child_hashes "
        f"FROM {STAGE_HASH} s LEFT JOIN {r} t ON t.id = s.id WHERE t.id IS NULL "
        f"OR t.removed_in_month IS NOT NULL OR t.content_hash <> s.content_hash")
    changed = read_frame(
        conn, f"SELECT id, kind, stored_child_hashes, child_hashes FROM {STAGE_CHANGED}",
        {"id": pl.Int64, "kind": pl.Utf8, "stored": pl.Utf8, "child_hashes": pl.Utf8})
    if changed.height < candidates:
        # Same content, new fingerprint (e.g. after a polars upgrade): refresh it; not a
        # change.
        conn.exec_driver_sql(
            f"UPDATE {r} SET fast_hash = s.fast_hash, child_hashes = s.child_hashes "
            f"FROM {STAGE_HASH} s WHERE s.id = {r}.id "
            f"AND s.id NOT IN (SELECT id FROM {STAGE_CHANGED})")
    kinds = dict(changed.get_column("kind").value_counts().iter_rows())
    counts.added, counts.changed, counts.revived = (kinds.get(k, 0) for k in "acv")
    return changed


def _write_changed(load: MonthLoad, cached: Frames | None, dangling: dict[str, int],
                   changed: pl.DataFrame) -> dict[str, int]:
    """Step 4: replace the child rows of added/changed/revived records, only in the child
    tables whose rows changed, and upsert their root rows (an upsert, not delete + insert, so
    runtime columns and first_seen_month survive). Returns ``dangling`` (counted before)
    corrected for the rows written."""
    conn, specs, counts, root = load.conn, load.specs, load.counts, load.root
    replace = _child_tables_to_replace(changed, len(specs))
    insert_frame(conn, STAGE_REPLACE, replace)
    table_index = {spec.name: index for index, spec in enumerate(specs)}

    def written(table: str) -> str:
        if table == root.name:
            return f"c.id {in_stage(conn, STAGE_CHANGED)}"
        key = quote(TABLES_BY_NAME[table].parent_key)
        return f"c.{key} {in_stage(conn, STAGE_REPLACE, f'tbl = {table_index[table]:d}')}"

    dangling_before_write = count_dangling(conn, root.entity, written)
    replaced = {i: replace.filter(pl.col("tbl") == i).select("id") for i in range(1, len(specs))}
    for index, spec in enumerate(specs[1:], start=1):
        if replaced[index].height:
            deleted = conn.execute(sa.text(
                f"DELETE FROM {quote(spec.name)} WHERE {quote(spec.parent_key)} "
                f"{in_stage(conn, STAGE_REPLACE, 'tbl = :tbl')}"), {"tbl": index}).rowcount
            counts.rows_written += max(deleted, 0)
    for index, (lo, hi) in enumerate(load.input.ranges):
        ids = changed.filter(pl.col("id").is_between(lo, hi)).select("id")
        if ids.height == 0:
            continue
        frames = cached or load.input.chunk(index, load.reader, None, streamed=False).frames()
        insert_frame(conn, STAGE_ROOT, _filter_ids(frames, specs[:1], ids)[root.name])
        for t, spec in enumerate(specs[1:], start=1):
            counts.rows_written += insert_frame(
                conn, spec.name, _filter_ids(frames, (spec,), replaced[t])[spec.name])
    counts.rows_written += _upsert_root_rows(conn, root, load.month)
    return corrected(dangling, dangling_before_write,
                     count_dangling(conn, root.entity, written))


def _upsert_root_rows(conn: sa.Connection, root: TableSpec, month: str) -> int:
    """The staged root rows with their staged hashes into the root table; rows written."""
    data_cols = list(root.columns)
    selected = ", ".join(f"s.{quote(c)}" for c in data_cols)
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in data_cols if c != "id")
    return conn.execute(sa.text(
        f"INSERT INTO {quote(root.name)} ({column_list(data_cols)}, content_hash, fast_hash, "
        f"child_hashes, first_seen_month) SELECT "
        f"{selected}, h.content_hash, h.fast_hash, h.child_hashes, :m "
        f"FROM {STAGE_ROOT} s JOIN {STAGE_HASH} h ON h.id = s.id WHERE true "
        f"ON CONFLICT (id) DO UPDATE SET {updates}, content_hash = excluded.content_hash, "
        f"fast_hash = excluded.fast_hash, child_hashes = excluded.child_hashes, "
        f"last_seen_month = NULL, removed_in_month = NULL"),
        {"m": month}).rowcount


def _filter_ids(frames: Frames, specs: tuple[TableSpec, ...], ids: pl.DataFrame) -> Frames:
    wanted = ids.get_column("id").implode()
    return {s.name: frames[s.name].filter(pl.col(s.parent_key).is_in(wanted)) for s in specs}


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
