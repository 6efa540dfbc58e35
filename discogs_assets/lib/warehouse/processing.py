"""The ``discogs_data_processing`` table: one row per month and the rules for moving it along.

    not_started → downloading → ready_for_processing → processing → completed | failed
    completed → downloading | processing     (a rerun of the month)
    failed → downloading | processing        (a retry; counted in retry_count)
    any → failed;  any → itself              (idempotent: no error, timestamps kept)

Every change happens in one write transaction that reads the row first, so two writers
cannot both move a month from the same state.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.layout import check_month
from discogs_assets.lib.warehouse.engine import is_postgres, write_transaction


class ProcessingStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    DOWNLOADING = "downloading"
    READY_FOR_PROCESSING = "ready_for_processing"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


S = ProcessingStatus
ALLOWED: dict[ProcessingStatus, frozenset[ProcessingStatus]] = {
    S.NOT_STARTED: frozenset({S.DOWNLOADING}),
    S.DOWNLOADING: frozenset({S.READY_FOR_PROCESSING}),
    S.READY_FOR_PROCESSING: frozenset({S.PROCESSING}),
    S.PROCESSING: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset({S.DOWNLOADING, S.PROCESSING}),
    S.FAILED: frozenset({S.DOWNLOADING, S.PROCESSING}),
}
"""Forward moves; ``failed`` and the current state are allowed from anywhere on top."""

_PHASE_TIMESTAMP: dict[ProcessingStatus, str] = {
    S.DOWNLOADING: "download_started_at",
    S.READY_FOR_PROCESSING: "ready_at",
    S.PROCESSING: "processing_started_at",
    S.COMPLETED: "completed_at",
    S.FAILED: "failed_at",
}
_CLEARED_BY: dict[ProcessingStatus, tuple[str, ...]] = {
    S.DOWNLOADING: ("ready_at", "processing_started_at", "completed_at", "failed_at"),
    S.PROCESSING: ("completed_at", "failed_at"),
}
_JSON_COLUMNS = ("checksums", "stats")
_TIMESTAMP_COLUMNS = ("next_retry_at", "created_at", "updated_at", *_PHASE_TIMESTAMP.values())
_BOOL_COLUMNS = ("unverified", "failure_retryable", "gate_disabled")
UPDATABLE = (
    "dump_date", "checksum_sha256", "checksums", "parser_version", "unverified",
    "next_retry_at", "gate_disabled", "gate_note", "last_error", "last_run_id",
)
"""Columns :meth:`ProcessingTable.update` may set directly (status moves go through
:meth:`transition` / :meth:`fail`)."""


class InvalidTransition(NonRetryableError):
    """A status move the rules above do not allow."""


def can_transition(current: ProcessingStatus, target: ProcessingStatus) -> bool:
    return target in (current, S.FAILED) or target in ALLOWED[current]


def _deep_merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class ProcessingTable:
    """Reads and writes ``discogs_data_processing`` (created by the models in dbt_like_sql/)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._pg = is_postgres(engine)

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
        out["status"] = ProcessingStatus(out["status"])
        return out

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

    def _set(self, conn: sa.Connection, month: str, values: Mapping[str, Any]) -> None:
        values = {**values, "updated_at": datetime.now(UTC)}
        assign = ", ".join(f"{col} = {self._param(col)}" for col in values)
        params = {col: self._bind(col, v) for col, v in values.items()}
        conn.execute(
            sa.text(f"UPDATE discogs_data_processing SET {assign} WHERE month = :month__"),
            {**params, "month__": month},
        )

    def get(self, month: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT * FROM discogs_data_processing WHERE month = :m"), {"m": month}
            ).mappings().first()
        return None if row is None else self._decode(row)

    def all(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT * FROM discogs_data_processing ORDER BY month")
            ).mappings().all()
        return [self._decode(r) for r in rows]

    def transition(
        self, month: str, status: ProcessingStatus | str, *, run_id: str | None = None
    ) -> dict[str, Any]:
        """Move ``month`` to ``status``; raise :class:`InvalidTransition` if the rules forbid it."""
        target = ProcessingStatus(status)
        if target is S.FAILED:
            return self.fail(month, error="marked failed", retryable=False, run_id=run_id)
        with write_transaction(self.engine) as conn:
            row = self._ensure(conn, month)
            current = row["status"]
            if not can_transition(current, target):
                allowed = ", ".join(sorted(ALLOWED[current] | {S.FAILED, current}))
                raise InvalidTransition(
                    f"month {month}: cannot go from {current} to {target} "
                    f"(allowed from {current}: {allowed})"
                )
            values: dict[str, Any] = {}
            if run_id is not None:
                values["last_run_id"] = run_id
            if target is not current:
                values["status"] = target.value
                values[_PHASE_TIMESTAMP[target]] = datetime.now(UTC)
                values["next_retry_at"] = None
                values["failure_retryable"] = None
                if current is S.FAILED:
                    values["retry_count"] = row["retry_count"] + 1
                for col in _CLEARED_BY.get(target, ()):  # a new attempt, a new timeline
                    values[col] = None
            if values:
                self._set(conn, month, values)
            return self._row(conn, month) or {}

    def fail(
        self,
        month: str,
        *,
        error: str,
        retryable: bool,
        run_id: str | None = None,
        next_retry_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Record a failure (allowed from any state) with its error and whether to retry."""
        with write_transaction(self.engine) as conn:
            self._ensure(conn, month)
            values: dict[str, Any] = {
                "status": S.FAILED.value,
                "failed_at": datetime.now(UTC),
                "last_error": error,
                "failure_retryable": retryable,
                "next_retry_at": next_retry_at if retryable else None,
            }
            if run_id is not None:
                values["last_run_id"] = run_id
            self._set(conn, month, values)
            return self._row(conn, month) or {}

    def update(
        self, month: str, *, stats_patch: Mapping[str, Any] | None = None, **values: Any
    ) -> dict[str, Any]:
        """Set plain columns (see ``UPDATABLE``) and deep-merge ``stats_patch`` into stats."""
        unknown = set(values) - set(UPDATABLE)
        if unknown:
            raise ValueError(
                f"cannot update {', '.join(sorted(unknown))} on discogs_data_processing; "
                f"updatable: {', '.join(UPDATABLE)} (status moves use transition/fail)"
            )
        with write_transaction(self.engine) as conn:
            row = self._ensure(conn, month)
            if stats_patch:
                values["stats"] = _deep_merge(row.get("stats") or {}, stats_patch)
            if values:
                self._set(conn, month, values)
            return self._row(conn, month) or {}
