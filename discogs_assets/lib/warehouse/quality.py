"""Data-quality rules of the warehouse, measured in SQL (the ``warehouse_*`` checks)."""

from __future__ import annotations

import sqlalchemy as sa

from discogs_assets.lib.lifecycle.status import PENDING_STATUSES, ProcessingStatus
from discogs_assets.lib.warehouse.schema import REFERENCES


def dangling_counts(engine: sa.Engine, entity: str) -> dict[str, int]:
    """``table.column`` -> references to a missing root row, for the entity's reference columns.

    Identifiers come from the project's own REFERENCES list, never from data. 0 and NULL mean
    "no reference" in the dumps.
    """
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for table, column, target in REFERENCES.get(entity, ()):
            out[f"{table}.{column}"] = int(conn.execute(sa.text(
                f"SELECT COUNT(*) FROM {table} t WHERE t.{column} IS NOT NULL AND t.{column} <> 0 "
                f"AND NOT EXISTS (SELECT 1 FROM {target} r WHERE r.id = t.{column})"
            )).scalar_one())
    return out


def health_view_mismatches(engine: sa.Engine) -> list[str]:
    """Where v_month_health / v_failed_months / v_pending_months disagree with the table."""
    with engine.connect() as conn:
        table = {r.month: r.status for r in conn.execute(
            sa.text("SELECT month, status FROM discogs_data_processing"))}
        health = {r.month: r.status for r in conn.execute(
            sa.text("SELECT month, status FROM v_month_health"))}
        failed = {r.month for r in conn.execute(sa.text("SELECT month FROM v_failed_months"))}
        pending = {r.month for r in conn.execute(sa.text("SELECT month FROM v_pending_months"))}
    problems = [f"v_month_health says {month} is {health.get(month)}, the table {status}"
                for month, status in sorted(table.items()) if health.get(month) != status]
    want_failed = {m for m, s in table.items() if s == ProcessingStatus.FAILED}
    want_pending = {m for m, s in table.items() if s in PENDING_STATUSES}
    if failed != want_failed:
        problems.append(f"v_failed_months lists {sorted(failed)}, the table {sorted(want_failed)}")
    if pending != want_pending:
        problems.append(f"v_pending_months lists {sorted(pending)}, the table "
                        f"{sorted(want_pending)}")
    return problems
