"""pandera (polars) schemas for every parsed table, generated from the contract in tables.py.

Rules: exact columns and dtypes; the record id / parent key and every unique-key column are
non-null; the unique key is unique; ids are positive; positions and track indexes are >= 0 and
a sub-track's parent index points to an earlier track.
"""

from __future__ import annotations

import functools

import pandera.polars as pa
import polars as pl

from discogs_assets.lib.tables import TABLES_BY_NAME

_ID_SUFFIX = ("id", "_id")
_INDEX_COLUMNS = ("position", "track_idx", "parent_idx")


def _checks(table: str, column: str) -> list[pa.Check]:
    dtype = TABLES_BY_NAME[table].columns[column]
    if column in _INDEX_COLUMNS and dtype == pl.Int32:  # release_track.position is a label
        return [pa.Check.ge(0)]
    if column.endswith(_ID_SUFFIX) and dtype == pl.Int64:
        return [pa.Check.gt(0)]
    return []


@functools.cache
def schema_for(table: str) -> pa.DataFrameSchema:
    spec = TABLES_BY_NAME[table]
    required = {spec.parent_key, *spec.unique_key}
    columns = {
        name: pa.Column(dtype, nullable=name not in required, checks=_checks(table, name))
        for name, dtype in spec.columns.items()
    }
    checks = []
    if "parent_idx" in spec.columns:
        checks.append(pa.Check(
            lambda data: data.lazyframe.select(
                pl.col("parent_idx").is_null() | (pl.col("parent_idx") < pl.col("track_idx"))),
            name="parent_idx_before_track_idx",
            error="a sub-track's parent_idx must be an earlier track_idx"))
    return pa.DataFrameSchema(columns, unique=list(spec.unique_key), strict=True, ordered=True,
                              checks=checks, name=table)


def validate_table(table_name: str, df: pl.DataFrame) -> None:
    """Raise ``pandera.errors.SchemaErrors`` (every failure, with details) unless ``df`` meets
    the table's schema."""
    schema_for(table_name).validate(df, lazy=True)
