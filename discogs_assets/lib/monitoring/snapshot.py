"""What the monitoring reads from the warehouse on each scrape: plain data, no Prometheus.

One :class:`Snapshot` per scrape: every processing row (a few hundred months at most), the
``v_month_entities`` rows of the exported months, the count of silently failed months, the
Parquet output on disk and the data directory's free space. Reads only: on PostgreSQL the
session is read-only with a statement timeout, on SQLite the connection is ``query_only``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from discogs_assets.lib.layout import parsed_dir
from discogs_assets.lib.lifecycle import MonthLifecycle
from discogs_assets.lib.warehouse.engine import make_engine, normalize_url, redact_url

DEFAULT_MONTHS = 13
"""Months exported with a ``month`` label: the current one and a year back. Bounds the series:
about 40 per month and entity, so roughly 2,000 in all."""
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 10_000  # below Prometheus's default scrape timeout of 10 s plus connect
_READER_SETTINGS = {  # libpq parameters of the exporter's PostgreSQL sessions
    "connect_timeout": str(CONNECT_TIMEOUT_S),
    "options": f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS}",
}


class WarehouseUnreadable(Exception):
    """The warehouse cannot be read (unreachable, not migrated, bad URL): the reason, no
    secrets, for the scraper (a 503) and the operator."""


@dataclass(frozen=True)
class DiskUsage:
    path: Path
    free_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    months: list[dict[str, Any]]
    """Every processing row (decoded by the lifecycle), oldest first."""
    window: tuple[str, ...]
    """The months exported with a ``month`` label, newest first."""
    entities: list[dict[str, Any]]
    """``v_month_entities`` rows of the window's months (numbers as float/int, JSON decoded)."""
    silent_failure_months: int
    """Months (all of them, not only the window) completed with zero records in an entity."""
    parsed_bytes: dict[tuple[str, str], int] = field(default_factory=dict)
    """(month, entity) -> bytes of its Parquet output on disk, where present."""
    disk: DiskUsage | None = None


def reader_engine(url: str) -> sa.Engine:
    """An engine that can only read, and gives up quickly: a scrape must answer in time.

    Raises :class:`WarehouseUnreadable` for a bad URL or a SQLite file that does not exist
    (connecting would create it).
    """
    try:
        parsed = normalize_url(url)
    except Exception as exc:  # sa.exc.ArgumentError or our ValueError: both are configuration
        raise WarehouseUnreadable(f"bad warehouse URL {redact_url(url)}: {exc}") from None
    if parsed.get_backend_name() == "postgresql":
        return make_engine(parsed.update_query_dict(
            {k: v for k, v in _READER_SETTINGS.items() if k not in parsed.query}))
    if not parsed.database or not Path(parsed.database).is_file():
        raise WarehouseUnreadable(f"warehouse {redact_url(parsed)} does not exist (nothing ran "
                                 "yet, or DISCOGS_WAREHOUSE_URL/DISCOGS_DATA_DIR point elsewhere)")
    engine = make_engine(parsed)

    @sa.event.listens_for(engine, "connect")
    def _read_only(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA query_only=ON")

    return engine


def _plain(value: Any) -> Any:
    """Decimal (PostgreSQL numerics) -> float; JSON text (SQLite) -> objects."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def _entity_row(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: _plain(v) for k, v in row.items()}
    if isinstance(out.get("dangling"), str):
        out["dangling"] = json.loads(out["dangling"])
    return out


def _dir_bytes(path: Path) -> int | None:
    if not path.is_dir():
        return None
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def disk_usage(path: Path) -> DiskUsage:
    """Free space where ``path`` is (or will be: its nearest existing parent)."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    usage = shutil.disk_usage(existing)
    return DiskUsage(path, usage.free, usage.total)


def read_snapshot(engine: sa.Engine, data_dir: Path | None, *, months: int = DEFAULT_MONTHS,
                  now: datetime | None = None) -> Snapshot:
    """Read everything one scrape exports. Raises :class:`WarehouseUnreadable` when the
    warehouse cannot be read or is not migrated (the tables and views are missing)."""
    taken_at = now or datetime.now(UTC)
    where = redact_url(engine.url.difference_update_query(_READER_SETTINGS))
    try:
        inspector = sa.inspect(engine)
        missing = [t for t in ("discogs_data_processing", "discogs_month_phases")
                   if not inspector.has_table(t)]
        if "v_month_entities" not in inspector.get_view_names():
            missing.append("v_month_entities")
        if missing:
            raise WarehouseUnreadable(
                f"warehouse {where} is not migrated: {', '.join(missing)} missing (run "
                "`discogs-pipeline verify`, then the warehouse_schema job)")
        rows = MonthLifecycle(engine).all()
        window = tuple(sorted((r["month"] for r in rows), reverse=True)[:months])
        with engine.connect() as conn:
            entities = [_entity_row(r) for r in conn.execute(
                sa.text("SELECT * FROM v_month_entities WHERE month >= :oldest"),
                {"oldest": window[-1]},
            ).mappings()] if window else []
            silent = conn.execute(sa.text(
                "SELECT COUNT(DISTINCT month) FROM v_month_entities WHERE silent_failure = 1"
            )).scalar_one()
    except WarehouseUnreadable:
        raise
    except sa.exc.SQLAlchemyError as exc:
        first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise WarehouseUnreadable(f"warehouse {where} cannot be read: "
                                 f"{type(exc).__name__}: {first_line}") from None
    parsed_bytes: dict[tuple[str, str], int] = {}
    if data_dir is not None:
        for entity_row in entities:
            size = _dir_bytes(parsed_dir(data_dir, entity_row["month"], entity_row["entity"]))
            if size is not None:
                parsed_bytes[(entity_row["month"], entity_row["entity"])] = size
    return Snapshot(
        taken_at=taken_at,
        months=rows,
        window=window,
        entities=entities,
        silent_failure_months=int(silent),
        parsed_bytes=parsed_bytes,
        disk=disk_usage(data_dir) if data_dir is not None else None,
    )
