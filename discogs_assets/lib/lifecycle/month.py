"""The one owner of the month lifecycle: every write to ``discogs_data_processing`` and
``discogs_month_phases`` goes through a named operation here.

Each operation is one write transaction that reads the month's row first (locked on
PostgreSQL, the write lock taken at BEGIN on SQLite), so parallel steps of one month never
lose each other's updates. The month's status and its timeline are derived from the phase rows
in that same transaction (see :mod:`discogs_assets.lib.lifecycle.status`).

Attempts: a month that failed (or completed) and is then touched by a step of *another* run
starts a new attempt: the failure is cleared, ``retry_count`` goes up after a failure, and a
new month run (its first step, the checksum) starts a new timeline. Steps of the failing run
that finish later leave the month failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from discogs_assets.lib.layout import check_month
from discogs_assets.lib.lifecycle.status import (
    PHASE_TIMESTAMP,
    STAGE_PHASES,
    EntityPhase,
    ProcessingStatus,
    Stage,
    derive_status,
)
from discogs_assets.lib.tables import ENTITIES
from discogs_assets.lib.warehouse.engine import is_postgres, write_transaction

S = ProcessingStatus
CHECKSUM_STEP = "checksum"
"""The month's first step (resolving its dump) in the phase table, beside the four entities."""

_JSON_COLUMNS = ("checksums", "stats")
_PHASE_TIMESTAMPS = tuple(PHASE_TIMESTAMP.values())
_MONTH_TIMESTAMPS = ("download_started_at", "ready_at", "processing_started_at", "completed_at",
                     "failed_at")
_TIMESTAMP_COLUMNS = ("next_retry_at", "created_at", "updated_at", "not_before", "recorded_at",
                      *_MONTH_TIMESTAMPS, *_PHASE_TIMESTAMPS)
_BOOL_COLUMNS = ("unverified", "failure_retryable", "gate_disabled")


def _deep_merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass
class _MonthChange:
    """What one operation sees (``row``, as it was) and sets (``values``); ``result`` is the
    row as written, filled in when the transaction commits."""

    row: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)


class MonthLifecycle:
    """Reads the month lifecycle tables and changes them through named operations only."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._pg = is_postgres(engine)
        self._present: set[str] = set()

    def _has(self, table: str) -> bool:
        """Readers (the schedule, sensors) may look before anything was migrated: a warehouse
        without the table simply has no months (or waits) yet. Reading never creates it."""
        if table not in self._present and sa.inspect(self.engine).has_table(table):
            self._present.add(table)
        return table in self._present

    # -- value conversion: PostgreSQL has JSONB/TIMESTAMPTZ/BOOLEAN, SQLite stores text/ints.
    def _bind(self, column: str, value: Any) -> Any:
        if value is None:
            return None
        if column in _JSON_COLUMNS:
            return json.dumps(value, sort_keys=True, default=str)
        if column in _TIMESTAMP_COLUMNS and not self._pg:
            return value.astimezone(UTC).isoformat()
        return value

    def _param(self, column: str) -> str:
        return f"CAST(:{column} AS JSONB)" if self._pg and column in _JSON_COLUMNS else f":{column}"

    @staticmethod
    def _decode(row: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(row)
        for col in _JSON_COLUMNS:
            if isinstance(out.get(col), str):
                out[col] = json.loads(out[col])
        for col in _TIMESTAMP_COLUMNS:
            if isinstance(out.get(col), str):
                out[col] = datetime.fromisoformat(out[col])
        for col in _BOOL_COLUMNS:
            if out.get(col) is not None:
                out[col] = bool(out[col])
        if "status" in out:
            out["status"] = ProcessingStatus(out["status"])
        if "phase" in out:
            out["phase"] = EntityPhase(out["phase"])
        return out

    # -- reads ------------------------------------------------------------------------------
    def get(self, month: str) -> dict[str, Any] | None:
        """The month's processing row, or None when nothing ever touched the month."""
        if not self._has("discogs_data_processing"):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT * FROM discogs_data_processing WHERE month = :m"), {"m": month}
            ).mappings().first()
        return None if row is None else self._decode(row)

    def all(self) -> list[dict[str, Any]]:
        if not self._has("discogs_data_processing"):
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT * FROM discogs_data_processing ORDER BY month")
            ).mappings().all()
        return [self._decode(r) for r in rows]

    def phases(self, month: str) -> dict[str, dict[str, Any]]:
        """``entity`` (or ``checksum``) -> its phase row in the month's current attempt."""
        with self.engine.connect() as conn:
            return self._phase_rows(conn, month)

    def host_backoff_until(self, host: str, now: datetime) -> tuple[datetime, str] | None:
        """(not before, why) while ``host`` asked us to wait past ``now``; else None."""
        if not self._has("dump_host_backoff"):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT not_before, reason FROM dump_host_backoff WHERE host = :h"),
                {"h": host},
            ).mappings().first()
        if row is None:
            return None
        until = self._decode(row)["not_before"]
        return (until, row["reason"] or "") if until > now else None

    # -- named operations -------------------------------------------------------------------
    def start_stage(self, month: str, entity: str, stage: Stage, *, run_id: str) -> dict[str, Any]:
        """A step of ``run_id`` begins ``stage`` for ``entity`` (or the checksum step)."""
        return self._change_phase(month, entity, STAGE_PHASES[stage][0], run_id=run_id)

    def finish_stage(
        self,
        month: str,
        entity: str,
        stage: Stage,
        *,
        run_id: str,
        stats_patch: Mapping[str, Any] | None = None,
        parser_version: str | None = None,
    ) -> dict[str, Any]:
        """``stage`` succeeded for ``entity``; its figures are merged into the month's stats."""
        return self._change_phase(month, entity, STAGE_PHASES[stage][1], run_id=run_id,
                                  stats_patch=stats_patch, parser_version=parser_version)

    def record_dump(
        self,
        month: str,
        *,
        run_id: str,
        dump_date: str,
        checksum_sha256: str | None,
        checksums: Mapping[str, str],
        unverified: bool,
    ) -> dict[str, Any]:
        """The dump the month resolved to (date, CHECKSUM hash, the files' sha256s)."""
        with self._month(month, run_id=run_id) as change:
            change.values.update(dump_date=dump_date, checksum_sha256=checksum_sha256,
                                 checksums=dict(checksums), unverified=unverified)
        return change.result

    def record_checksum_seen(
        self, month: str, *, sha256: str | None, listed_at: datetime | None, seen_at: datetime
    ) -> dict[str, Any]:
        """When the month's CHECKSUM was first seen (and listed, when the host says): the
        freshness check measures from here. A later sighting of the same CHECKSUM keeps the
        first time; a different one (re-published) starts over."""
        with self._month(month) as change:
            stats = change.row.get("stats") or {}
            if (stats.get("checksum_seen") or {}).get("sha256") != sha256 or sha256 is None:
                change.values["stats"] = _deep_merge(stats, {"checksum_seen": {
                    "sha256": sha256,
                    "listed_at": listed_at.isoformat() if listed_at else None,
                    "seen_at": seen_at.isoformat(),
                }})
        return change.result

    def record_stats(self, month: str, stats_patch: Mapping[str, Any]) -> dict[str, Any]:
        """Deep-merge figures of a step that has no phase (the identity caches) into stats."""
        with self._month(month) as change:
            change.values["stats"] = _deep_merge(change.row.get("stats") or {}, stats_patch)
        return change.result

    def record_failure(
        self,
        month: str,
        *,
        error: str,
        retryable: bool,
        run_id: str | None = None,
        next_retry_at: datetime | None = None,
    ) -> dict[str, Any]:
        """The month's current attempt failed; ``next_retry_at`` is the earliest retry (a
        Retry-After from the host), None for the retry policy's own backoff."""
        with self._month(month, run_id=run_id, starts_attempt=False) as change:
            change.values.update(status=S.FAILED.value, failed_at=datetime.now(UTC),
                                 last_error=error, failure_retryable=retryable,
                                 next_retry_at=next_retry_at if retryable else None)
        return change.result

    def mark_gate_disabled(self, month: str, *, note: str,
                           run_id: str | None = None) -> dict[str, Any]:
        """Work for the month stopped because the gate is off: failed (not retried while the
        gate stays off) and held as "gate disabled" so the retry sensor requests it again once
        the gate is on. A completed month keeps its status (only a rerun was stopped)."""
        with self._month(month, run_id=run_id, starts_attempt=False) as change:
            change.values.update(gate_disabled=True, gate_note=note)
            if change.row["status"] is not S.COMPLETED:
                change.values.update(status=S.FAILED.value, failed_at=datetime.now(UTC),
                                     last_error=note, failure_retryable=False,
                                     next_retry_at=None)
        return change.result

    def release_gate_hold(self, month: str, *, note: str) -> dict[str, Any]:
        """The gate is on again and the month was re-requested."""
        with self._month(month) as change:
            change.values.update(gate_disabled=False, gate_note=note)
        return change.result

    def schedule_retry(self, month: str, due_at: datetime) -> dict[str, Any]:
        """When the retry sensor will request the failed month again (shown to admins)."""
        with self._month(month) as change:
            change.values["next_retry_at"] = due_at
        return change.result

    def record_host_backoff(self, host: str, not_before: datetime, reason: str) -> None:
        """The dump host asked us to wait until ``not_before``; an earlier wait never shortens
        a longer one already recorded."""
        with write_transaction(self.engine) as conn:
            current = self._host_backoff_row(conn, host)
            if current is not None and current["not_before"] >= not_before:
                return
            params = {"h": host, "nb": self._bind("not_before", not_before), "r": reason,
                      "at": self._bind("recorded_at", datetime.now(UTC))}
            if current is None:
                conn.execute(sa.text(
                    "INSERT INTO dump_host_backoff (host, not_before, reason, recorded_at) "
                    "VALUES (:h, :nb, :r, :at)"), params)
            else:
                conn.execute(sa.text(
                    "UPDATE dump_host_backoff SET not_before = :nb, reason = :r, "
                    "recorded_at = :at WHERE host = :h"), params)

    # -- internals --------------------------------------------------------------------------
    def _host_backoff_row(self, conn: sa.Connection, host: str) -> dict[str, Any] | None:
        row = conn.execute(
            sa.text("SELECT not_before FROM dump_host_backoff WHERE host = :h"), {"h": host}
        ).mappings().first()
        return None if row is None else self._decode(row)

    def _phase_rows(self, conn: sa.Connection, month: str) -> dict[str, dict[str, Any]]:
        rows = conn.execute(
            sa.text("SELECT * FROM discogs_month_phases WHERE month = :m"), {"m": month}
        ).mappings().all()
        return {r["entity"]: self._decode(r) for r in rows}

    def _row(self, conn: sa.Connection, month: str) -> dict[str, Any] | None:
        lock = " FOR UPDATE" if self._pg else ""
        row = conn.execute(
            sa.text(f"SELECT * FROM discogs_data_processing WHERE month = :m{lock}"), {"m": month}
        ).mappings().first()
        return None if row is None else self._decode(row)

    def _ensure(self, conn: sa.Connection, month: str) -> dict[str, Any]:
        """The month's row (locked on PostgreSQL), created as ``not_started`` when missing."""
        row = self._row(conn, month)
        if row is None:
            now = self._bind("created_at", datetime.now(UTC))
            conn.execute(
                sa.text(
                    "INSERT INTO discogs_data_processing (month, status, created_at, updated_at) "
                    "VALUES (:m, 'not_started', :now, :now) ON CONFLICT (month) DO NOTHING"
                ),
                {"m": check_month(month), "now": now},
            )
            row = self._row(conn, month)
            assert row is not None
        return row

    def _set(self, conn: sa.Connection, table: str, where: Mapping[str, Any],
             values: Mapping[str, Any]) -> None:
        values = {**values, "updated_at": datetime.now(UTC)}
        assign = ", ".join(f"{col} = {self._param(col)}" for col in values)
        params = {col: self._bind(col, v) for col, v in values.items()}
        condition = " AND ".join(f"{col} = :w_{col}" for col in where)
        conn.execute(sa.text(f"UPDATE {table} SET {assign} WHERE {condition}"),
                     {**params, **{f"w_{c}": v for c, v in where.items()}})

    @contextmanager
    def _month(
        self, month: str, *, run_id: str | None = None, starts_attempt: bool = True,
        before_derive: Callable[[sa.Connection, dict[str, Any], bool], None] | None = None,
    ) -> Iterator[_MonthChange]:
        """One write transaction on the month: yields the change to fill in; on exit applies
        the attempt rule, derives status and timeline from the phases and writes the row."""
        with write_transaction(self.engine) as conn:
            row = self._ensure(conn, month)
            change = _MonthChange(row)
            values = change.values
            new_attempt = (starts_attempt and run_id is not None
                           and row.get("last_run_id") != run_id
                           and row["status"] in (S.FAILED, S.COMPLETED))
            if new_attempt:
                values.update(failed_at=None, failure_retryable=None, next_retry_at=None)
                if row["status"] is S.FAILED:
                    values["retry_count"] = row["retry_count"] + 1
            if run_id is not None:
                values["last_run_id"] = run_id
            yield change
            if before_derive is not None:
                before_derive(conn, row, new_attempt)
            failed_now = values.get("status") == S.FAILED.value or (
                row["status"] is S.FAILED and not new_attempt)
            if not failed_now:
                values.update(self._derived(conn, month))
            self._set(conn, "discogs_data_processing", {"month": month}, values)
            change.result = self._row(conn, month) or {}

    def _derived(self, conn: sa.Connection, month: str) -> dict[str, Any]:
        """Status and month timeline from the phase rows of the current attempt."""
        rows = self._phase_rows(conn, month)
        entity_rows = [rows[e] for e in ENTITIES if e in rows]
        status = derive_status({e: r["phase"] for e, r in rows.items()}, ENTITIES,
                               started=CHECKSUM_STEP in rows)

        def stamps(column: str, among: list[dict[str, Any]]) -> list[datetime]:
            return [r[column] for r in among if r.get(column) is not None]

        starts = stamps("download_started_at", list(rows.values()))
        downloaded = stamps("downloaded_at", entity_rows)
        parse_starts = stamps("parse_started_at", entity_rows)
        loaded = stamps("loaded_at", entity_rows)
        every = len(entity_rows) == len(ENTITIES)
        return {
            "status": status.value,
            "download_started_at": min(starts) if starts else None,
            "ready_at": max(downloaded) if every and len(downloaded) == len(ENTITIES) else None,
            "processing_started_at": min(parse_starts) if parse_starts else None,
            "completed_at": max(loaded) if status is S.COMPLETED else None,
        }

    def _change_phase(
        self,
        month: str,
        entity: str,
        phase: EntityPhase,
        *,
        run_id: str,
        stats_patch: Mapping[str, Any] | None = None,
        parser_version: str | None = None,
    ) -> dict[str, Any]:
        if entity != CHECKSUM_STEP and entity not in ENTITIES:
            raise ValueError(f"unknown lifecycle step owner {entity!r}; expected "
                             f"{CHECKSUM_STEP} or one of {', '.join(ENTITIES)}")
        now = datetime.now(UTC)

        def write_phase(conn: sa.Connection, row: dict[str, Any], new_attempt: bool) -> None:
            # A month run starts with its checksum step: a new run there is a new timeline.
            if entity == CHECKSUM_STEP and phase is EntityPhase.DOWNLOADING and \
                    row.get("last_run_id") != run_id:
                conn.execute(sa.text("DELETE FROM discogs_month_phases WHERE month = :m"),
                             {"m": month})
            current = self._phase_rows(conn, month).get(entity)
            values: dict[str, Any] = {"phase": phase.value, "run_id": run_id,
                                      PHASE_TIMESTAMP[phase]: now}
            if parser_version is not None:
                values["parser_version"] = parser_version
            # Entering a phase again (a rerun) clears what came after it.
            for later in list(EntityPhase)[phase.rank + 1:]:
                values[PHASE_TIMESTAMP[later]] = None
            if current is None:
                values["updated_at"] = now
                cols = {"month": month, "entity": entity, **values}
                conn.execute(sa.text(
                    f"INSERT INTO discogs_month_phases ({', '.join(cols)}) "
                    f"VALUES ({', '.join(':' + c for c in cols)})"),
                    {c: self._bind(c, v) for c, v in cols.items()})
            else:
                self._set(conn, "discogs_month_phases", {"month": month, "entity": entity},
                          values)

        with self._month(month, run_id=run_id, before_derive=write_phase) as change:
            if stats_patch:
                change.values["stats"] = _deep_merge(change.row.get("stats") or {}, stats_patch)
            if parser_version is not None:
                change.values["parser_version"] = parser_version
        return change.result
