"""Loading one month of one entity into the current-state tables.

The whole entity loads in one transaction holding the warehouse load lock, so a crash or a
kill at any point leaves the last committed state and the next run simply redoes the month.
:func:`load_month` checks the month and picks one of two paths, same result:

* first load (every table of the entity empty): the bulk path, :mod:`.first_load`;
* merge (steady state): only what changed is written, :mod:`.merge`.

Monotonic: a month older than the entity's current month is recorded as historical in
``month_changes`` and changes nothing else. Shrink guard: a month whose record count is zero
or dropped by more than ``max_shrink`` against the current state is refused unless
``allow_shrink`` is set for that run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.layout import check_month
from discogs_assets.lib.warehouse.bulk import quote
from discogs_assets.lib.warehouse.changes import ChangeCounts, current_month, record_changes
from discogs_assets.lib.warehouse.first_load import first_load
from discogs_assets.lib.warehouse.hash_scheme import check_hash_scheme
from discogs_assets.lib.warehouse.lock import load_transaction
from discogs_assets.lib.warehouse.merge import merge
from discogs_assets.lib.warehouse.month_input import MonthInput, ParsedInputError
from discogs_assets.lib.warehouse.month_load import Log, MonthLoad, worker

DEFAULT_CHUNK_ROWS = 1_000_000
"""Rows over all the entity's tables read and hashed at a time: bounds the load's memory
whatever the month's size (about 14,000 releases of the benchmarks' generated dump, 36 rows
each; a steady 2 M-release month peaks at about 570 MiB)."""

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
    """Rows inserted, updated, deleted or tombstoned in all tables."""
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


def _has_rows(conn: sa.Connection, table: str) -> bool:
    return conn.exec_driver_sql(f"SELECT 1 FROM {quote(table)} LIMIT 1").scalar() is not None


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

        with worker("warehouse-read") as reader, worker("warehouse-hash") as hasher:
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
            load = MonthLoad(conn=conn, month=month, input=month_input, counts=counts, say=say,
                             reader=reader, hasher=hasher)
            if result.first_load:
                check_shrink(present=0)
                first_load(load, first)
            else:
                merge(load, first, check_shrink)
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
