"""A month's Parquet tables as the warehouse load reads them: checked against the contract,
split into id ranges of about the same number of rows over all the entity's tables (bounding
memory whatever the month's size), and read one table at a time so writing can start while
the rest is still being read.

Every problem is a :class:`ParsedInputError` naming the file and the record id or key.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.tables import TableSpec, tables_for

_ID_MIN, _ID_MAX = -(2**63), 2**63 - 1
_ID_BINS = 100_000
"""Id bins the rows are counted in to cut a month into chunks (see :func:`_cuts`)."""


class ParsedInputError(NonRetryableError):
    """The month's Parquet tables are missing, mistyped or hold duplicate record ids."""


@dataclass(frozen=True)
class MonthInput:
    """One entity's tables of one month, checked (see :meth:`open`)."""

    specs: tuple[TableSpec, ...]
    paths: dict[str, Path]
    ids: pl.Series
    """The root records' ids, sorted, unique."""
    ranges: list[tuple[int, int]]
    """Closed id ranges covering every possible id (so child rows whose parent is missing are
    read too, and counted), each of about ``chunk_rows`` rows over all tables."""
    rows: int
    """Rows of every table."""

    @classmethod
    def open(cls, parsed_dir: Path, entity: str, chunk_rows: int) -> MonthInput:
        specs = tables_for(entity)
        paths = {spec.name: _checked_path(parsed_dir, spec) for spec in specs}
        ids = _root_ids(paths[specs[0].name])
        cuts = _cuts(paths, specs, ids, chunk_rows)
        ranges = list(zip([_ID_MIN, *cuts], [c - 1 for c in cuts] + [_ID_MAX], strict=True))
        rows = sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in paths.values())
        return cls(specs=specs, paths=paths, ids=ids, ranges=ranges, rows=rows)

    def chunk(self, index: int, pool: Executor, orphans: dict[str, int] | None, *,
              streamed: bool) -> Chunk:
        """The tables of range ``index``, read in ``pool``: ``streamed``, one after another
        (children in load order, then the root), each available as soon as it is read; else
        all at once (polars reads them in parallel: faster when all are needed together).
        Child rows without a parent record are dropped and counted in ``orphans`` when
        given."""
        lo, hi = self.ranges[index]
        records = self.ids.filter(self.ids.is_between(lo, hi)).implode()
        order = [spec.name for spec in (*self.specs[1:], self.specs[0])]
        if streamed:
            reads = {s.name: pool.submit(self._read, s, lo, hi, records, orphans)
                     for s in (*self.specs[1:], self.specs[0])}
            return Chunk(order, lambda name: reads[name].result())
        batch = pool.submit(self._read_all, lo, hi, records, orphans)
        return Chunk(order, lambda name: batch.result()[name])

    def _scan(self, spec: TableSpec, lo: int, hi: int) -> pl.LazyFrame:
        scan = pl.scan_parquet(self.paths[spec.name])
        if (lo, hi) != (_ID_MIN, _ID_MAX):
            scan = scan.filter(pl.col(spec.parent_key).is_between(lo, hi))
        return scan

    def _read(self, spec: TableSpec, lo: int, hi: int, records: pl.Series,
              orphans: dict[str, int] | None) -> pl.DataFrame:
        return self._checked(spec, self._scan(spec, lo, hi).collect(), records, orphans)

    def _read_all(self, lo: int, hi: int, records: pl.Series,
                  orphans: dict[str, int] | None) -> dict[str, pl.DataFrame]:
        frames = pl.collect_all([self._scan(spec, lo, hi) for spec in self.specs])
        return {spec.name: self._checked(spec, df, records, orphans)
                for spec, df in zip(self.specs, frames, strict=True)}

    def _checked(self, spec: TableSpec, df: pl.DataFrame, records: pl.Series,
                 orphans: dict[str, int] | None) -> pl.DataFrame:
        if spec.is_root:
            return df
        _check_unique(df, spec, self.paths[spec.name])
        kept = df.filter(pl.col(spec.parent_key).is_in(records))  # faster than a semi-join
        if orphans is not None and kept.height != df.height:
            name = f"{spec.name}.{spec.parent_key}"
            orphans[name] = orphans.get(name, 0) + df.height - kept.height
        return kept


class Chunk:
    """One id range's tables (see :meth:`MonthInput.chunk`)."""

    def __init__(self, names: list[str], read: Callable[[str], pl.DataFrame]) -> None:
        self._names = names
        self._read = read

    def table(self, name: str) -> pl.DataFrame:
        """The table's rows, once read (blocks until then)."""
        return self._read(name)

    def frames(self) -> dict[str, pl.DataFrame]:
        return {name: self._read(name) for name in self._names}


def _checked_path(parsed_dir: Path, spec: TableSpec) -> Path:
    path = parsed_dir / f"{spec.name}.parquet"
    if not path.is_file():
        raise ParsedInputError(f"{path}: missing; a month needs every table of {spec.entity}")
    found = pl.read_parquet_schema(path)
    if dict(found) != spec.columns:
        diffs = [
            f"{c}: expected {spec.columns.get(c)}, found {found.get(c)}"
            for c in dict.fromkeys([*spec.columns, *found])
            if spec.columns.get(c) != found.get(c)
        ]
        raise ParsedInputError(f"{path}: columns differ from the contract: {'; '.join(diffs)}")
    return path


def _cuts(paths: dict[str, Path], specs: tuple[TableSpec, ...], ids: pl.Series,
          chunk_rows: int) -> list[int]:
    """The first id of every chunk but the first. The rows of every table are counted per bin
    of ids (a fixed number of bins, so this takes the same memory whatever the month's size):
    a bin starts a new chunk when the rows before it cross a multiple of ``chunk_rows``, so a
    chunk holds less than ``chunk_rows`` rows plus its last bin. A release has from one row to
    hundreds (tracks, credits): a fixed record count per chunk would not bound memory."""
    if ids.is_empty():
        return []
    lo, hi = ids[0], ids[-1]
    width = -(-(hi - lo + 1) // _ID_BINS)
    keys = [pl.scan_parquet(paths[s.name]).select(pl.col(s.parent_key).alias("id"))
            for s in specs]
    per_bin = (pl.concat(keys).filter(pl.col("id").is_between(lo, hi))
               .group_by(bin=(pl.col("id") - lo) // width).agg(rows=pl.len())
               .sort("bin").collect(engine="streaming"))
    rows = per_bin.get_column("rows")
    chunk_of = (rows.cum_sum() - rows) // max(chunk_rows, 1)  # by the rows before each bin
    firsts = per_bin.get_column("bin").filter(chunk_of.is_first_distinct()) * width + lo
    return firsts.to_list()[1:]


def _root_ids(path: Path) -> pl.Series:
    ids = pl.read_parquet(path, columns=["id"]).get_column("id").sort()
    if ids.null_count():
        raise ParsedInputError(f"{path}: {ids.null_count()} rows have no id")
    dup = ids.filter(ids.is_duplicated())
    if dup.len():
        raise ParsedInputError(f"{path}: duplicate record id {dup[0]} ({dup.n_unique()} ids "
                               "appear more than once)")
    return ids


def _strictly_increasing(key: list[str]) -> pl.Expr:
    """True when every row's key is greater than the previous row's (lexicographically)."""
    later: pl.Expr | None = None
    for name in reversed(key):
        col, prev = pl.col(name), pl.col(name).shift(1)
        later = col > prev if later is None else (col > prev) | ((col == prev) & later)
    assert later is not None
    return later.slice(1).fill_null(False).all()


def _check_unique(df: pl.DataFrame, spec: TableSpec, path: Path) -> None:
    """Refuse a child table with two rows of one key. The parser writes rows in key order,
    so a linear scan usually proves uniqueness; only other input is hashed."""
    key = list(spec.unique_key)
    if df.height < 2 or df.select(_strictly_increasing(key)).item():
        return
    duplicated = df.select(key).is_duplicated()
    if duplicated.any():
        dup = df.select(key).filter(duplicated)
        raise ParsedInputError(
            f"{path}: duplicate key ({', '.join(key)}) = {dup.row(0)} "
            f"({dup.height} rows share a key)")
