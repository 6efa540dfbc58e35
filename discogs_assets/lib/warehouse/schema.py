"""What the warehouse adds to the parsed-table contract (``lib/tables.py``), declared once.

The DDL in ``dbt_like_sql/`` is plain SQL; ``tests/test_warehouse_models.py`` checks it against
these declarations and the contract, so the two cannot drift apart.
"""

from __future__ import annotations

import polars as pl

from discogs_assets.lib.tables import TableSpec

RUNTIME_COLUMNS: dict[str, tuple[str, ...]] = {
    "label": ("image_url",),
    "artist": ("image_url",),
    "master": ("artwork_url",),
    "release": ("artwork_url",),
}
"""Columns applications write on root tables (e.g. back-patched artwork). A load never writes
them, so they survive reloads, edits, tombstoning and revival. Add new ones here and in the
table's model file (all TEXT)."""

STATE_COLUMNS: dict[str, str] = {
    "content_hash": "TEXT",  # stable XXH3-128 sum over the record's rows (lib/warehouse/hashing.py)
    "fast_hash": "BIGINT",  # cheap fingerprint used only to skip unchanged records quickly
    "child_hashes": "TEXT",  # per child table fingerprints: only changed child tables are rewritten
    "first_seen_month": "TEXT",
    "last_seen_month": "TEXT",  # on a tombstone, the month last seen; NULL while present
    "removed_in_month": "TEXT",  # set when the record is absent from that month: a tombstone
}
"""Bookkeeping columns of every root table, with their SQL types."""

REFERENCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    # entity -> (table, column, referenced root table); 0 and NULL mean "no reference".
    # master.main_release_id is left out: releases load after masters, so it would always
    # dangle on a first load and tell nothing.
    "labels": (("label", "parent_label_id", "label"), ("label_sublabel", "sublabel_id", "label")),
    "artists": (
        ("artist_alias", "alias_id", "artist"),
        ("artist_member", "member_id", "artist"),
        ("artist_group", "group_id", "artist"),
    ),
    "masters": (("master_artist", "artist_id", "artist"),),
    "releases": (
        ("release", "master_id", "master"),
        ("release_label", "label_id", "label"),
        ("release_series", "series_id", "label"),
        ("release_company", "company_id", "label"),
        ("release_artist", "artist_id", "artist"),
        ("release_track_artist", "artist_id", "artist"),
    ),
}
"""References checked after each load; dangling ones are kept as data and counted."""

CREDIT_TABLES: tuple[str, ...] = ("master_artist", "release_artist", "release_track_artist")
"""Credit tables whose rows may be unlinked (no artist id: a name only); counted per load."""

SQL_TYPES: dict[type[pl.DataType], str] = {
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.Utf8: "TEXT",
    pl.Boolean: "BOOLEAN",
    pl.List: "{{ json }}",  # list columns are stored as JSON arrays
}


def sql_type(dtype: pl.DataType) -> str:
    """The declared SQL type (before dialect rendering) for a contract dtype."""
    return SQL_TYPES[dtype.base_type()]


def warehouse_columns(spec: TableSpec) -> list[str]:
    """Every column the warehouse table has: the contract's, then bookkeeping and runtime."""
    extra = (*STATE_COLUMNS, *RUNTIME_COLUMNS.get(spec.name, ())) if spec.is_root else ()
    return [*spec.columns, *extra]

