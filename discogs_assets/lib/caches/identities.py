"""The identity list: CSV import (validated, one transaction) and reads for the warm passes.

CSV columns: ``identity_id,source,external_id,active,discogs_unavailable,
discogs_unavailable_note`` (the last three optional; ``active`` defaults to true, the flag to
false). Every bad row is reported with its line number and nothing is written unless the whole
file is valid. Rows are upserted by ``identity_id``; identities absent from the file are kept.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import sqlalchemy as sa

from ..errors import NonRetryableError

DISCOGS_SOURCES: Final = ("discogs_release", "discogs_master")
SOURCES: Final = (*DISCOGS_SOURCES, "musicbrainz_release", "spotify_album",
                  "apple_music_album", "bandcamp")
REQUIRED_COLUMNS: Final = ("identity_id", "source", "external_id")
OPTIONAL_COLUMNS: Final = ("active", "discogs_unavailable", "discogs_unavailable_note")
MAX_ID_LENGTH: Final = 200
MAX_REPORTED_ERRORS: Final = 50
_TRUE: Final = frozenset({"true", "t", "yes", "y", "1"})
_FALSE: Final = frozenset({"false", "f", "no", "n", "0"})
_CHUNK: Final = 500  # ids per IN (...) lookup; far below SQLite's bound-parameter limit


class IdentityImportError(NonRetryableError):
    """The CSV file is invalid; ``problems`` holds one ``line N: ...`` entry per bad row."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        shown = list(problems[:MAX_REPORTED_ERRORS])
        more = len(problems) - len(shown)
        lines = "\n".join(f"  {p}" for p in shown) + (f"\n  ... and {more} more" if more else "")
        super().__init__(f"{path.name}: {len(problems)} invalid row(s), nothing imported:\n{lines}")
        self.path = path
        self.problems = list(problems)


@dataclass(frozen=True)
class Identity:
    identity_id: str
    source: str
    external_id: str
    active: bool = True
    discogs_unavailable: bool = False
    discogs_unavailable_note: str | None = None

    @property
    def discogs_id(self) -> int | None:
        """The Discogs id for a Discogs source (validated as a positive integer on import)."""
        return int(self.external_id) if self.source in DISCOGS_SOURCES else None


@dataclass
class ImportReport:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def _parse_bool(raw: str, column: str, default: bool) -> bool:
    value = raw.strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{column} {raw!r} is not a boolean (true/false, yes/no, 1/0)")


def _parse_row(row: dict[str, str | None]) -> Identity:
    def text(column: str) -> str:
        return (row.get(column) or "").strip()

    identity_id = text("identity_id")
    if not identity_id:
        raise ValueError("identity_id is empty")
    if len(identity_id) > MAX_ID_LENGTH or not identity_id.isprintable():
        raise ValueError(f"identity_id {identity_id[:40]!r} is longer than {MAX_ID_LENGTH} "
                         "characters or holds control characters")
    source = text("source")
    if source not in SOURCES:
        raise ValueError(f"source {source!r} is not one of {', '.join(SOURCES)}")
    external_id = text("external_id")
    if not external_id:
        raise ValueError("external_id is empty")
    if source in DISCOGS_SOURCES and not (external_id.isascii() and external_id.isdigit()
                                          and int(external_id) > 0):
        raise ValueError(f"external_id {external_id!r} is not a positive Discogs id")
    flagged = _parse_bool(text("discogs_unavailable"), "discogs_unavailable", False)
    note = text("discogs_unavailable_note") or None
    if note is not None and not flagged:
        raise ValueError("discogs_unavailable_note is set but discogs_unavailable is not")
    return Identity(identity_id, source, external_id,
                    _parse_bool(text("active"), "active", True), flagged, note)


def read_identities_csv(path: Path) -> list[Identity]:
    """Parse and validate the whole file; raise ``IdentityImportError`` listing every bad row."""
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IdentityImportError(
            path, [f"line {line}: not UTF-8 at byte offset {exc.start}"]) from None
    reader = csv.DictReader(io.StringIO(content, newline=""), strict=True)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise IdentityImportError(path, [
            f"line 1: header must hold {', '.join(REQUIRED_COLUMNS)} and optionally "
            f"{', '.join(OPTIONAL_COLUMNS)} once each (missing: {missing or 'none'}, "
            f"unknown: {unknown or 'none'})"])
    reader.fieldnames = header
    problems: list[str] = []
    identities: list[Identity] = []
    first_line: dict[str, int] = {}
    for line, row in _rows_with_lines(reader, path, problems):
        if None in row:
            problems.append(f"line {line}: {len(row[None])} value(s) beyond the header")
            continue
        try:
            identity = _parse_row(row)
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if identity.identity_id in first_line:
            problems.append(f"line {line}: identity_id {identity.identity_id!r} repeats line "
                            f"{first_line[identity.identity_id]}")
            continue
        first_line[identity.identity_id] = line
        identities.append(identity)
    if problems:
        raise IdentityImportError(path, problems)
    return identities


def _rows_with_lines(reader: csv.DictReader[str], path: Path, problems: list[str],
                     ) -> Iterator[tuple[int, dict[str, str | None]]]:
    """Rows with the line each starts on (a quoted field may span lines)."""
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: {exc}")
            return
        yield start, row
        start = reader.line_num + 1


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


_COLUMNS: Final = ("identity_id", "source", "external_id", "active", "discogs_unavailable",
                   "discogs_unavailable_note")
_SELECT: Final = sa.text(
    f"SELECT {', '.join(_COLUMNS)} FROM identity WHERE identity_id IN :ids"
).bindparams(sa.bindparam("ids", expanding=True))


def _row_to_identity(row: sa.Row) -> Identity:
    return Identity(row[0], row[1], row[2], bool(row[3]), bool(row[4]), row[5])


def import_identities(engine: sa.Engine, path: Path) -> ImportReport:
    """Validate ``path`` and upsert its identities in one transaction."""
    identities = read_identities_csv(path)
    report = ImportReport(rows=len(identities))
    now = datetime.now(UTC).isoformat()  # ISO text: fits TEXT (SQLite) and TIMESTAMPTZ alike
    with engine.begin() as conn:
        existing: dict[str, Identity] = {}
        for chunk in _chunks([i.identity_id for i in identities]):
            for row in conn.execute(_SELECT, {"ids": list(chunk)}):
                existing[row[0]] = _row_to_identity(row)
        inserts = [i for i in identities if i.identity_id not in existing]
        updates = [i for i in identities
                   if i.identity_id in existing and existing[i.identity_id] != i]
        params = [{**{c: getattr(i, c) for c in _COLUMNS}, "now": now} for i in inserts]
        if params:
            conn.execute(sa.text(
                f"INSERT INTO identity ({', '.join(_COLUMNS)}, imported_at) VALUES "
                f"({', '.join(':' + c for c in _COLUMNS)}, :now)"), params)
        params = [{**{c: getattr(i, c) for c in _COLUMNS}, "now": now} for i in updates]
        if params:
            conn.execute(sa.text(
                "UPDATE identity SET "
                + ", ".join(f"{c} = :{c}" for c in _COLUMNS[1:])
                + ", imported_at = :now WHERE identity_id = :identity_id"), params)
    report.inserted, report.updated = len(inserts), len(updates)
    report.unchanged = report.rows - report.inserted - report.updated
    return report


def load_identities(engine: sa.Engine, *, active_only: bool = True) -> list[Identity]:
    """Identities ordered by id (flagged ones included: callers count and skip them)."""
    where = " WHERE active" if active_only else ""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT {', '.join(_COLUMNS)} FROM identity{where} ORDER BY identity_id"))
        return [_row_to_identity(r) for r in rows]
