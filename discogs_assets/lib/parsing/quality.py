"""Data-quality rules of a month's parsed tables, read from disk (the ``parsed_*`` checks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from discogs_assets.lib.tables import ENTITY_ROOT_TABLE, tables_for


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
    # Imported here: pandera takes longer to import than most checks take to run, and only
    # this one needs it.
    import pandera.errors as pa_errors

    from discogs_assets.lib.parsing.schemas import validate_table

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
