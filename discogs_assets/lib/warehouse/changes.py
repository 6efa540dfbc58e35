"""The ``month_changes`` table: what each load did, and which month is current per entity."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from discogs_assets.lib.warehouse.engine import is_postgres


@dataclass
class ChangeCounts:
    staged_rows: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    revived: int = 0
    rows_written: int = 0
    dangling: dict[str, int] = field(default_factory=dict)

    @property
    def unchanged(self) -> int:
        return max(0, self.staged_rows - self.added - self.changed - self.revived)


def current_month(conn: sa.Connection, entity: str) -> str | None:
    """The newest month applied (not merely recorded as historical) for ``entity``: every
    present record of it was seen in that month."""
    return conn.execute(
        sa.text("SELECT MAX(month) FROM month_changes WHERE entity = :e AND NOT historical"),
        {"e": entity},
    ).scalar()


def read_changes(conn: sa.Connection, month: str, entity: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.text("SELECT * FROM month_changes WHERE month = :m AND entity = :e"),
        {"m": month, "e": entity},
    ).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["historical"] = bool(out["historical"])
    if isinstance(out["dangling"], str):
        out["dangling"] = json.loads(out["dangling"])
    return out


def record_changes(
    conn: sa.Connection,
    *,
    month: str,
    entity: str,
    counts: ChangeCounts,
    historical: bool,
    seconds: float,
    run_id: str | None,
) -> None:
    """Write this load's counts; a rerun of an applied month adds to that month's counts.

    Runs inside the load's transaction, so the row and the data it describes commit together.
    """
    existing = read_changes(conn, month, entity)
    now = datetime.now(UTC)
    total = ChangeCounts(**{**counts.__dict__, "dangling": dict(counts.dangling)})
    runs, first_loaded_at = 1, now
    if existing is not None and existing["historical"] == historical:
        runs = existing["runs"] + 1
        first_loaded_at = existing["first_loaded_at"]
        for name in ("added", "changed", "removed", "revived", "rows_written"):
            setattr(total, name, getattr(total, name) + existing[name])
        seconds += existing["seconds"]
    pg = is_postgres(conn)
    stamp: Any = (lambda t: t) if pg else (lambda t: t if isinstance(t, str) else t.isoformat())
    values: Mapping[str, Any] = {
        "month": month, "entity": entity, "historical": historical,
        "staged_rows": total.staged_rows, "added": total.added, "changed": total.changed,
        "removed": total.removed, "unchanged": total.unchanged, "revived": total.revived,
        "rows_written": total.rows_written, "dangling": json.dumps(total.dangling, sort_keys=True),
        "seconds": seconds, "runs": runs, "run_id": run_id,
        "first_loaded_at": stamp(first_loaded_at), "loaded_at": stamp(now),
    }
    conn.execute(sa.text("DELETE FROM month_changes WHERE month = :m AND entity = :e"),
                 {"m": month, "e": entity})
    params = ", ".join(
        "CAST(:dangling AS JSONB)" if pg and k == "dangling" else f":{k}" for k in values
    )
    conn.execute(
        sa.text(f"INSERT INTO month_changes ({', '.join(values)}) VALUES ({params})"), values
    )
