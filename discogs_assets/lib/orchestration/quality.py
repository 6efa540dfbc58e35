"""Data-quality measures behind the asset checks: parsed tables on disk, warehouse in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandera.errors as pa_errors
import polars as pl
import pyarrow.parquet as pq
import sqlalchemy as sa

from discogs_assets.lib.parsing import validate_table
from discogs_assets.lib.tables import ENTITY_ROOT_TABLE, tables_for
from discogs_assets.lib.warehouse.schema import REFERENCES

PENDING = ("not_started", "downloading", "ready_for_processing", "processing")



@dataclass(frozen=True)
class DriftResult:
    passed: bool
    drift: float | None  # (current - previous) / previous; None without a previous month
    reason: str


def count_drift(current: int, previous: int | None, *, max_fraction: float) -> DriftResult:
    """Fail when the count moved by more than ``max_fraction`` of the previous month's."""
    if previous is None:
        return DriftResult(True, None, "no previous month to compare with")
    if previous == 0:
        passed = current == 0
        return DriftResult(passed, None, f"previous month had 0 records, this one {current}")
    drift = (current - previous) / previous
    passed = abs(drift) <= max_fraction
    verdict = "within" if passed else "beyond"
    return DriftResult(
        passed, drift,
        f"{current} records vs {previous} in the previous month ({drift:+.2%}, {verdict} "
        f"±{max_fraction:.0%})",
    )


def missing_share(missing: int, total: int) -> float:
    return missing / total if total else 0.0


KEY_FIELDS: dict[str, str] = {"labels": "name", "artists": "name", "masters": "title",
                              "releases": "title"}
"""The root-table column a record is useless without (label 212 really has no name)."""


def root_row_count(entity_dir: Path, entity: str) -> int | None:
    """Records in a month's parsed root table, from the Parquet footer (None if not parsed)."""
    path = entity_dir / f"{ENTITY_ROOT_TABLE[entity]}.parquet"
    return pq.read_metadata(path).num_rows if path.exists() else None


def schema_problems(entity_dir: Path, entity: str) -> dict[str, str]:
    """table -> what is wrong with it (pandera schema, unique keys, a missing file); {} = fine."""
    problems: dict[str, str] = {}
    for spec in tables_for(entity):
        path = entity_dir / f"{spec.name}.parquet"
        if not path.exists():
            problems[spec.name] = f"{path.name} is missing"
            continue
        df = pl.read_parquet(path)
        duplicates = df.height - df.select(list(spec.unique_key)).n_unique()  # extra copies
        try:
            validate_table(spec.name, df)
        except pa_errors.SchemaErrors as exc:
            cases = exc.failure_cases
            head = cases.head(5).to_dicts() if hasattr(cases, "head") else str(cases)[:500]
            problems[spec.name] = (f"{len(cases)} schema failure(s), {duplicates} duplicate "
                                   f"unique key(s) {spec.unique_key}; first: {head}")
    return problems


def missing_key_count(entity_dir: Path, entity: str) -> tuple[int, int]:
    """(records missing their key field, records) in the root table."""
    column = KEY_FIELDS[entity]
    path = entity_dir / f"{ENTITY_ROOT_TABLE[entity]}.parquet"
    blank = pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")
    frame = pl.scan_parquet(path).select(
        pl.len().alias("total"), blank.sum().alias("missing")
    ).collect()
    return int(frame["missing"][0]), int(frame["total"][0])


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
    want_failed = {m for m, s in table.items() if s == "failed"}
    want_pending = {m for m, s in table.items() if s in PENDING}
    if failed != want_failed:
        problems.append(f"v_failed_months lists {sorted(failed)}, the table {sorted(want_failed)}")
    if pending != want_pending:
        problems.append(f"v_pending_months lists {sorted(pending)}, the table "
                        f"{sorted(want_pending)}")
    return problems
