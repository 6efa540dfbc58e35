"""Content hashes of root records, stable across polars versions and machines.

A record's hash covers its root row and every child row, so an edit anywhere in a release
(a track title, a credit) changes the release. The canonical text is built with vectorized
polars string expressions whose output is fully specified (integer to-string, byte lengths,
concatenation) and hashed with BLAKE2b-128 from the standard library:

    int     := <decimal> ","          | "N" (null)
    bool    := "t" | "f"              | "N"
    text    := <utf-8 byte length> ":" <text>     | "N"
    list    := <element count> "[" text*          | "N"
    row     := <table index> ";" then every contract column in contract order
               (child tables leave out the parent key: the record owns them)
    record  := root row, then child rows ordered by (table index, the table's unique key)

Every token is self-delimiting for a known schema, so the text is injective: no separator or
escaping can be confused with data. All rows of a chunk are sorted so that each record's text
is one contiguous slice of a single Arrow buffer; Python then only calls BLAKE2b once per
record. ``polars.hash_rows`` / ``Expr.hash`` are not used: their output may change between
releases. A golden test (tests/test_warehouse_hashing.py) pins the hash of a fixed record.

``fast_hashes`` is a second, much cheaper 64-bit fingerprint (polars ``hash_rows``, combined
per record by wrapping sums) used only as a pre-filter: a record whose fingerprint equals the
stored one is taken as unchanged (a false match needs a 64-bit collision), any other record
gets its stable content hash computed and compared. Since ``hash_rows`` may change between
polars releases, an upgrade only costs speed for one month (every record takes the slow
path once and its fingerprint is refreshed); results never depend on it.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping

import polars as pl

from discogs_assets.lib.tables import TableSpec

_DIGEST_BYTES = 16


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


def record_rows(frames: Mapping[str, pl.DataFrame], specs: tuple[TableSpec, ...]) -> pl.DataFrame:
    """Every row's ``id`` (its record) and text, sorted so a record's rows are contiguous."""
    parts = []
    for index, spec in enumerate(specs):
        parts.append(
            frames[spec.name]
            .sort(list(spec.unique_key))
            .select(
                pl.col(spec.parent_key).alias("id"),
                pl.lit(index, dtype=pl.UInt8).alias("_table"),
                pl.int_range(pl.len(), dtype=pl.UInt32).alias("_seq"),
                row_text(spec, index).alias("_text"),
            )
        )
    # A stable sort on the id alone keeps the concatenation's (table, key) order within a
    # record, and is much cheaper than sorting on all three columns.
    return pl.concat(parts).sort("id", maintain_order=True)


def content_hashes(
    frames: Mapping[str, pl.DataFrame], specs: tuple[TableSpec, ...]
) -> pl.DataFrame:
    """``id`` and ``content_hash`` (32 hex digits) for every root record in ``frames``."""
    rows = record_rows(frames, specs)
    if rows.height == 0:
        return pl.DataFrame(schema={"id": pl.Int64, "content_hash": pl.Utf8})
    ids = rows.get_column("id")
    starts = ids.ne_missing(ids.shift(1)).arg_true()
    texts = rows.get_column("_text").to_arrow(compat_level=pl.CompatLevel.oldest())
    if hasattr(texts, "combine_chunks"):
        texts = texts.combine_chunks()
    offsets = memoryview(texts.buffers()[1]).cast("q")[texts.offset:]
    data = memoryview(texts.buffers()[2])
    bounds = [offsets[i] for i in starts.to_list()]
    bounds.append(offsets[rows.height])
    digests = [
        hashlib.blake2b(data[a:b], digest_size=_DIGEST_BYTES).hexdigest()
        for a, b in itertools.pairwise(bounds)
    ]
    return pl.DataFrame({"id": ids.gather(starts), "content_hash": digests},
                        schema={"id": pl.Int64, "content_hash": pl.Utf8})


def fast_hashes(
    frames: Mapping[str, pl.DataFrame], specs: tuple[TableSpec, ...]
) -> pl.DataFrame:
    """``id`` and ``fast_hash`` (Int64): a cheap per-record fingerprint (see module doc)."""
    root = specs[0]
    out = frames[root.name].select(pl.col("id"))
    out = out.with_columns(_h0=frames[root.name].hash_rows())
    parts = []
    for index, spec in enumerate(specs[1:], start=1):
        df = frames[spec.name]
        parts.append(
            df.select(pl.col(spec.parent_key).alias("id"), df.hash_rows().alias("_h"))
            .group_by("id")
            .agg(pl.col("_h").sum().alias(f"_s{index}"), pl.len().alias(f"_n{index}"))
        )
    for part in parts:
        out = out.join(part, on="id", how="left")
    fingerprint = out.drop("id").fill_null(0).hash_rows()
    return pl.DataFrame({"id": out.get_column("id"),
                         "fast_hash": fingerprint.reinterpret(signed=True)})
