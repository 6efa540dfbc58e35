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
path once and its fingerprint is refreshed); results never depend on it. ``fingerprints`` adds
``child_hashes``, the same kind of fingerprint per child table, so a changed record's child
tables whose rows did not change are left alone (a stored value from another polars release
only means those tables are rewritten).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping

import polars as pl
import pyarrow as pa

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


def _record_sums(
    frames: Mapping[str, pl.DataFrame], specs: tuple[TableSpec, ...]
) -> pl.DataFrame:
    """``id``, the root row's ``hash_rows`` and, per child table, the wrapping sum and count of
    the record's row hashes (0 when it has none)."""
    root = specs[0]
    out = frames[root.name].select(pl.col("id"))
    out = out.with_columns(_h0=frames[root.name].hash_rows())
    for index, spec in enumerate(specs[1:], start=1):
        df = frames[spec.name]
        out = out.join(
            df.select(pl.col(spec.parent_key).alias("id"), df.hash_rows().alias("_h"))
            .group_by("id")
            .agg(pl.col("_h").sum().alias(f"_s{index}"), pl.len().alias(f"_n{index}")),
            on="id", how="left")
    return out.fill_null(0)


def _fast(sums: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame({"id": sums.get_column("id"),
                         "fast_hash": sums.drop("id").hash_rows().reinterpret(signed=True)})


def fast_hashes(
    frames: Mapping[str, pl.DataFrame], specs: tuple[TableSpec, ...]
) -> pl.DataFrame:
    """``id`` and ``fast_hash`` (Int64): a cheap per-record fingerprint (see module doc)."""
    return _fast(_record_sums(frames, specs))


def fingerprints(
    frames: Mapping[str, pl.DataFrame], specs: tuple[TableSpec, ...]
) -> pl.DataFrame:
    """:func:`fast_hashes` plus ``child_hashes``: one 64-bit fingerprint per child table (16 hex
    digits each, in the entity's table order) of the record's rows in that table, so a load
    rewrites only the child tables of a changed record whose rows changed (trusted like
    ``fast_hash``: a false match needs a 64-bit collision)."""
    sums = _record_sums(frames, specs)
    digests = [_hex(sums.select(f"_s{i}", f"_n{i}").hash_rows()) for i in range(1, len(specs))]
    return _fast(sums).with_columns(
        child_hashes=pl.concat_str(digests) if digests else pl.lit(""))


def _hex(values: pl.Series) -> pl.Series:
    """UInt64 values as 16 hex digits each (their bytes viewed as fixed-size binary)."""
    return pl.Series(pl.from_arrow(values.to_arrow().view(pa.binary(8)))).bin.encode("hex")
