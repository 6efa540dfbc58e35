"""``discogs-pipeline verify``: the health checks an operator runs after a deploy.

Each check is a function that returns what it saw (one line) or raises :class:`CheckFailed`
with the reason; any other exception fails the check with its type and message. The warehouse
checks here read only; the command adds the Dagster instance and alert delivery checks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from discogs_assets.lib.lifecycle import ZERO_RECORDS_CONSTRAINT, MonthLifecycle, ProcessingStatus
from discogs_assets.lib.monitoring.snapshot import WarehouseUnreadable, reader_engine
from discogs_assets.lib.orchestration.alerts import redact
from discogs_assets.lib.orchestration.summary import is_older
from discogs_assets.lib.tables import ENTITIES
from discogs_assets.lib.warehouse.engine import redact_url
from discogs_assets.lib.warehouse.models import list_models

S = ProcessingStatus
Check = tuple[str, Callable[[], str]]
"""(name, function returning what it saw or raising :class:`CheckFailed`)."""


class CheckFailed(Exception):
    """A check found a problem; the message says what and, where it can, what to do."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.detail}"


def run_checks(checks: Sequence[Check]) -> list[CheckResult]:
    results = []
    for name, check in checks:
        try:
            results.append(CheckResult(name, True, check()))
        except CheckFailed as exc:
            results.append(CheckResult(name, False, str(exc)))
        except Exception as exc:  # an unexpected error is a failed check, never a crash
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            results.append(CheckResult(name, False, redact(f"{type(exc).__name__}: {message}")))
    return results


def report(results: Sequence[CheckResult]) -> str:
    passed = sum(r.passed for r in results)
    return "\n".join([*(r.line() for r in results), f"{passed}/{len(results)} passed"])


def _latest_finished(lifecycle: MonthLifecycle) -> tuple[dict, list[str]]:
    """The newest month that finished (completed or failed), and the newer ones in flight."""
    rows = sorted(lifecycle.all(), key=lambda r: r["month"], reverse=True)
    in_flight: list[str] = []
    for row in rows:
        if row["status"] in (S.COMPLETED, S.FAILED):
            return row, in_flight
        in_flight.append(f"{row['month']} {row['status']}")
    raise CheckFailed("no month has finished yet" +
                      (f" (in flight: {', '.join(in_flight)})" if in_flight else ""))


def _entities(engine: sa.Engine, month: str) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM v_month_entities WHERE month = :m"),
                            {"m": month}).mappings().all()
    return {r["entity"]: dict(r) for r in rows}


def warehouse_checks(url: str, *, parser_version: str) -> list[Check]:
    """The warehouse at ``url``, read only (a missing SQLite file is not created)."""
    warehouse = _WarehouseChecks(url, parser_version)
    return [
        ("warehouse reachable", warehouse.reachable),
        ("zero-record guarantee present", warehouse.zero_records_guarantee),
        ("health views answer", warehouse.views_answer),
        ("latest month complete and non-empty", warehouse.latest_month_complete),
        ("parsers current", warehouse.parsers_current),
    ]


class _WarehouseChecks:
    """The warehouse checks, sharing one engine opened by the first check that needs it."""

    def __init__(self, url: str, parser_version: str) -> None:
        self.url = url
        self.parser_version = parser_version
        self._engine: sa.Engine | None = None

    def engine(self) -> sa.Engine:
        if self._engine is None:
            try:
                self._engine = reader_engine(self.url)
            except WarehouseUnreadable as exc:
                raise CheckFailed(str(exc)) from None
        return self._engine

    def reachable(self) -> str:
        engine = self.engine()
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return f"{engine.dialect.name} at {redact_url(engine.url)}"

    def zero_records_guarantee(self) -> str:
        checks = sa.inspect(self.engine()).get_check_constraints("discogs_month_phases")
        found = [c for c in checks if c.get("name") == ZERO_RECORDS_CONSTRAINT]
        if not found:
            raise CheckFailed(f"discogs_month_phases has no CHECK {ZERO_RECORDS_CONSTRAINT}: "
                              "run the warehouse_schema job (the models add it)")
        return f"CHECK {ZERO_RECORDS_CONSTRAINT} ({' '.join(found[0]['sqltext'].split())})"

    def views_answer(self) -> str:
        views = [m.name for m in list_models() if m.name.startswith("v_")]
        broken = []
        for view in views:
            try:  # a connection each: a failed statement spoils a PostgreSQL transaction
                with self.engine().connect() as conn:
                    conn.execute(sa.text(f"SELECT * FROM {view} LIMIT 1")).all()
            except sa.exc.DBAPIError as exc:
                broken.append(f"{view} ({str(exc.orig).strip().splitlines()[0]})")
        if broken:
            raise CheckFailed(f"{len(broken)} of {len(views)} views fail: {'; '.join(broken)}; "
                              "run the warehouse_schema job")
        return f"{len(views)} views: {', '.join(views)}"

    def latest_month_complete(self) -> str:
        row, in_flight = _latest_finished(MonthLifecycle(self.engine()))
        month = row["month"]
        newer = f" (newer, in flight: {', '.join(in_flight)})" if in_flight else ""
        if row["status"] is S.FAILED:
            raise CheckFailed(f"{month} failed: {row.get('last_error') or 'no error recorded'}"
                              f"{newer}")
        entities = _entities(self.engine(), month)
        empty = [f"{e} ({entities[e].get('note') or 'no note'})" for e in ENTITIES
                 if e in entities and entities[e]["silent_failure"]]
        if empty:
            raise CheckFailed(f"{month} completed with zero records in {', '.join(empty)}"
                              f"{newer}")
        counts = ", ".join(f"{e} {entities[e]['records_loaded']}" for e in ENTITIES
                           if e in entities)
        return f"{month} completed: {counts} records loaded{newer}"

    def parsers_current(self) -> str:
        rows = MonthLifecycle(self.engine()).all()
        completed = [r for r in rows if r["status"] is S.COMPLETED]
        if not completed:
            raise CheckFailed("no completed month to compare the parser version of")
        month = max(r["month"] for r in completed)
        versions = {e: r.get("parser_version") for e, r in _entities(self.engine(), month).items()
                    if e in ENTITIES}
        stale = [f"{e} by {v or 'an unknown parser'}" for e, v in versions.items()
                 if not v or is_older(str(v), self.parser_version)]
        older = sorted({r["month"] for r in rows if r.get("parser_version")
                        and is_older(str(r["parser_version"]), self.parser_version)} - {month})
        also = (f"; {len(older)} older month(s) parsed by an older parser: {', '.join(older)} "
                "(backfill them)") if older else ""
        if stale:
            raise CheckFailed(f"{month} parsed {', '.join(stale)}, deployed parser "
                              f"{self.parser_version}: backfill {month}{also}")
        return f"{month} parsed by parser {self.parser_version} (the deployed one){also}"


def data_dir_check(data_dir: Path) -> Check:
    def writable() -> str:
        if not data_dir.is_dir():
            raise CheckFailed(f"{data_dir} does not exist (DISCOGS_DATA_DIR)")
        if not os.access(data_dir, os.W_OK | os.X_OK):
            raise CheckFailed(f"{data_dir} is not writable by this user")
        return str(data_dir)

    return ("data directory writable", writable)
