"""Record hashes: a stable content hash, per-child-table hashes and a cheap fingerprint.

Every row of a record (the root row and each child row) gets a canonical text, built with
vectorized polars string expressions whose output is fully specified (integer to-string,
byte lengths, concatenation):

    int     := <decimal> ","          | "N" (null)
    bool    := "t" | "f"              | "N"
    text    := <utf-8 byte length> ":" <text>     | "N"
    list    := <element count> "[" text*          | "N"
    row     := <table index> ";" then every contract column in contract order
               (child tables leave out the parent key: the record owns them)

Every token is self-delimiting for a known schema, so the text is injective: no separator or
escaping can be confused with data. Each row's text is hashed with XXH3-128 (``polars-hash``:
a published algorithm, the same bytes on every machine and release, in Rust, no Python loop).
Rows of one record are distinct (each text carries its table and unique key), so the record's
set of rows is identified by the wrapping sum of their hashes:

* ``content_hash``: the sum (mod 2**128) over all the record's rows, 32 hex digits;
* ``child_hashes``: per child table in the entity's order, the low 64 bits of the sum over the
  record's rows in that table (0 when it has none), 16 hex digits each, so a changed record
  rewrites only the child tables whose rows changed.

A sum needs no sorting, so row order in the input never matters. Hex digits spell the
little-endian bytes. A golden test (tests/test_warehouse_hashing.py) pins the text and hashes.

``fast_hashes`` is a much cheaper 64-bit fingerprint (polars ``hash_rows``, no text built),
used only as a pre-filter: a record whose fingerprint equals the stored one is taken as
unchanged (a false match needs a 64-bit collision); any other record gets its content hash
computed and compared. ``hash_rows`` may change between polars releases, so an upgrade only
costs speed for one month (every record takes the content-hash path once and its fingerprint
is refreshed); results never depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import polars_hash  # noqa: F401  (registers the .nchash expression namespace)
import pyarrow as pa

from discogs_assets.lib.tables import TableSpec

HASH_SCHEME = "xxh3-128-row-sum/1"
"""Names the definition above; change it with the definition (warehouses record it)."""
_LOW_64 = 2**64
_GOLDEN_RATIO_64 = 0x9E3779B97F4A7C15


def _text(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str([expr.str.len_bytes().cast(pl.Utf8), pl.lit(":"), expr]).fill_null("N")


def _encoded(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.Utf8:
        return _text(col)
    if dtype == pl.Boolean:
        return pl.when(col).then(pl.lit("t")).when(col.not_()).then(pl.lit("f")).otherwise(
            pl.lit("N"))
    if isinstance(dtype, pl.List):
        items = col.list.eval(_text(pl.element())).list.join("")
        return pl.concat_str([col.list.len().cast(pl.Utf8), pl.lit("["), items]).fill_null("N")
    if dtype.is_integer():
        return pl.concat_str([col.cast(pl.Utf8), pl.lit(",")]).fill_null("N")
    raise TypeError(f"no canonical encoding for {name}: {dtype}")


def row_text(spec: TableSpec, table_index: int) -> pl.Expr:
    """One row's canonical text, tagged with its table's position in the entity."""
    parts = [_encoded(n, t) for n, t in spec.columns.items()
             if spec.is_root or n != spec.parent_key]
    return pl.concat_str([pl.lit(f"{table_index};"), *parts])


def _row_hashes(frames: Mapping[str, pl.DataFrame], specs: tuple[TableSpec, ...]) -> pl.LazyFrame:
    """``id`` (the record), ``_table`` and ``_h`` (XXH3-128 of the row's text) of every row."""
    return pl.concat([
        frames[spec.name].lazy().select(
            pl.col(spec.parent_key).alias("id"),
            pl.lit(index, dtype=pl.UInt8).alias("_table"),
            row_text(spec, index).nchash.xxh3_128().alias("_h"),
        )
        for index, spec in enumerate(specs)])


def record_hashes(
    frames: Mapping[str, pl.DataFrame], specs: tuple[TableSpec, ...]
) -> pl.DataFrame:
    """``id``, ``content_hash`` and ``child_hashes`` for every root record in ``frames``
    (see module doc)."""
    ids = frames[specs[0].name].select("id")
    per_table = _row_hashes(frames, specs).group_by("id", "_table").agg(pl.col("_h").sum())
    content, children = pl.collect_all([
        per_table.group_by("id").agg(pl.col("_h").sum()),
        per_table.filter(pl.col("_table") > 0).select(
            "id", "_table", (pl.col("_h") % _LOW_64).cast(pl.UInt64).alias("_h")),
    ])
    out = ids.join(content, on="id", how="left")
    out = out.with_columns(content_hash=_hex128(out.get_column("_h"))).drop("_h")
    digests = [
        _hex64(ids.join(children.filter(pl.col("_table") == index), on="id", how="left")
               .get_column("_h").fill_null(0))
        for index in range(1, len(specs))]
    return out.with_columns(child_hashes=pl.concat_str(digests) if digests else pl.lit(""))


def fast_hashes(
    frames: Mapping[str, pl.DataFrame], specs: tuple[TableSpec, ...]
) -> pl.DataFrame:
    """``id`` and ``fast_hash`` (Int64): a cheap per-record fingerprint (see module doc), the
    wrapping sum of the record's ``hash_rows`` values, each times an odd per-table constant."""
    rows = pl.concat([
        pl.DataFrame({"id": frames[spec.name].get_column(spec.parent_key),
                      "_h": frames[spec.name].hash_rows()})
        .with_columns(pl.col("_h") * pl.lit(_table_mix(index), dtype=pl.UInt64))
        for index, spec in enumerate(specs)])
    return rows.group_by("id").agg(pl.col("_h").sum().reinterpret(signed=True).alias("fast_hash"))


def all_hashes(
    frames: Mapping[str, pl.DataFrame], specs: tuple[TableSpec, ...]
) -> pl.DataFrame:
    """``id``, ``content_hash``, ``child_hashes`` and ``fast_hash`` of every root record: what a
    written root row stores."""
    return record_hashes(frames, specs).join(fast_hashes(frames, specs), on="id")


def _table_mix(index: int) -> int:
    # Odd multipliers (a bijection mod 2**64) keep equal rows of different tables apart.
    return (_GOLDEN_RATIO_64 * (2 * index + 1)) % _LOW_64


def _hex64(values: pl.Series) -> pl.Series:
    """UInt64 values as 16 hex digits each (their little-endian bytes)."""
    return pl.Series(pl.from_arrow(values.cast(pl.UInt64).to_arrow().view(pa.binary(8)))
                     ).bin.encode("hex")


def _hex128(values: pl.Series) -> pl.Series:
    """UInt128 values as 32 hex digits (little-endian bytes: low half first)."""
    frame = pl.DataFrame({"v": values})
    low = frame.select((pl.col("v") % _LOW_64).cast(pl.UInt64)).to_series()
    high = frame.select((pl.col("v") // _LOW_64).cast(pl.UInt64)).to_series()
    return pl.select(pl.concat_str(_hex64(low), _hex64(high))).to_series()
