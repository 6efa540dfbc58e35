"""The identity list: CSV import (validated, one transaction), flagging, and reads for the
warm and refresh passes.

CSV columns: ``identity_id,source,external_id,active,discogs_unavailable,
discogs_unavailable_note`` (the last three optional; ``active`` defaults to true, the flag to
false). ``identity_id`` is the LML service's integer identity id. Every bad row is reported with
its line number and nothing is written unless the whole file is valid. Rows are upserted by
``identity_id``; identities absent from the file are kept.

Flagging an identity ``discogs_unavailable`` (on import or with ``flag_identity``) purges, in
the same transaction, the cache documents it used that no unflagged identity uses, and sets its
outcome to ``skipped_discogs_unavailable``: wrong Discogs data must stop being served at once,
not at the next monthly warm.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import sqlalchemy as sa

from ..errors import NonRetryableError
from ..warehouse.engine import execute_literal, is_postgres, write_transaction
from ..warehouse.models import list_models, model_statements
from .documents import chunks
from .purge import PurgeCounts, purge_documents

DISCOGS_SOURCES: Final = ("discogs_release", "discogs_master")
SOURCES: Final = (*DISCOGS_SOURCES, "musicbrainz_release", "spotify_album",
                  "apple_music_album", "bandcamp")
REQUIRED_COLUMNS: Final = ("identity_id", "source", "external_id")
OPTIONAL_COLUMNS: Final = ("active", "discogs_unavailable", "discogs_unavailable_note")
MAX_IDENTITY_ID: Final = 2**63 - 1  # BIGINT
MAX_REPORTED_ERRORS: Final = 50
SKIPPED_DISCOGS_UNAVAILABLE: Final = "skipped_discogs_unavailable"
_TRUE: Final = frozenset({"true", "t", "yes", "y", "1"})
_FALSE: Final = frozenset({"false", "f", "no", "n", "0"})


class IdentityImportError(NonRetryableError):
    """The CSV file is invalid; ``problems`` holds one ``line N: ...`` entry per bad row."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        shown = list(problems[:MAX_REPORTED_ERRORS])
        more = len(problems) - len(shown)
        lines = "\n".join(f"  {p}" for p in shown) + (f"\n  ... and {more} more" if more else "")
        super().__init__(f"{path.name}: {len(problems)} invalid row(s), nothing imported:\n{lines}")
        self.path = path
        self.problems = list(problems)


class IdentityIdsNotMigrated(NonRetryableError):
    """The warehouse's ``identity.identity_id`` is still TEXT (created before integer ids)."""


class IdentityNotFound(NonRetryableError):
    """No identity with that id in the warehouse."""


@dataclass(frozen=True)
class Identity:
    identity_id: int
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
    flagged: int = 0  # identities newly flagged discogs_unavailable by this file
    purged: PurgeCounts = field(default_factory=PurgeCounts)


def _parse_bool(raw: str, column: str, default: bool) -> bool:
    value = raw.strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{column} {raw!r} is not a boolean (true/false, yes/no, 1/0)")


def parse_identity_id(raw: str) -> int:
    """A positive integer that fits BIGINT: the LML service's identity id."""
    value = raw.strip()
    if not value:
        raise ValueError("identity_id is empty")
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_IDENTITY_ID:
        raise ValueError(f"identity_id {value[:40]!r} is not a positive integer (the LML "
                         "service's identity id)")
    return int(value)


def _parse_row(row: dict[str, str | None]) -> Identity:
    def text(column: str) -> str:
        return (row.get(column) or "").strip()

    identity_id = parse_identity_id(text("identity_id"))
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
    first_line: dict[int, int] = {}
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
            problems.append(f"line {line}: identity_id {identity.identity_id} repeats line "
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


_COLUMNS: Final = ("identity_id", "source", "external_id", "active", "discogs_unavailable",
                   "discogs_unavailable_note")
_SELECT: Final = sa.text(
    f"SELECT {', '.join(_COLUMNS)} FROM identity WHERE identity_id IN :ids"
).bindparams(sa.bindparam("ids", expanding=True))
_MIGRATE_HINT: Final = ("run `discogs-pipeline identities migrate-ids` once (README: "
                        "\"Identity caches\")")


def _row_to_identity(row: sa.Row) -> Identity:
    return Identity(int(row[0]), row[1], row[2], bool(row[3]), bool(row[4]), row[5])


def _identity_id_is_integer(conn: sa.Connection) -> bool:
    column = next(c for c in sa.inspect(conn).get_columns("identity")
                  if c["name"] == "identity_id")
    return isinstance(column["type"], sa.Integer)


def require_integer_ids(conn: sa.Connection) -> None:
    """Refuse to work on a warehouse whose identity ids are still TEXT: numbers compared as
    text sort 1, 10, 100 and would reach the LML service as strings."""
    if not _identity_id_is_integer(conn):
        raise IdentityIdsNotMigrated(
            "identity.identity_id is TEXT in this warehouse (created before identity ids were "
            f"the LML service's integers); {_MIGRATE_HINT}")


def _select_existing(conn: sa.Connection, ids: Sequence[int]) -> dict[int, Identity]:
    existing: dict[int, Identity] = {}
    for part in chunks(ids):
        for row in conn.execute(_SELECT, {"ids": part}):
            identity = _row_to_identity(row)
            existing[identity.identity_id] = identity
    return existing


def import_identities(engine: sa.Engine, path: Path) -> ImportReport:
    """Validate ``path`` and upsert its identities in one transaction; identities it newly
    flags ``discogs_unavailable`` have their documents purged in that transaction."""
    identities = read_identities_csv(path)
    report = ImportReport(rows=len(identities))
    now = datetime.now(UTC).isoformat()  # ISO text: fits TEXT (SQLite) and TIMESTAMPTZ alike
    with write_transaction(engine) as conn:
        require_integer_ids(conn)
        existing = _select_existing(conn, [i.identity_id for i in identities])
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
        newly_flagged = [i for i in [*inserts, *updates] if i.discogs_unavailable and not (
            i.identity_id in existing and existing[i.identity_id].discogs_unavailable)]
        report.purged = _purge_flagged(conn, newly_flagged, now)
    report.inserted, report.updated = len(inserts), len(updates)
    report.unchanged = report.rows - report.inserted - report.updated
    report.flagged = len(newly_flagged)
    return report


def flag_identity(engine: sa.Engine, identity_id: int, note: str | None) -> PurgeCounts:
    """Flag one identity ``discogs_unavailable`` (``note``, when given, replaces its note) and
    purge its documents, in one transaction. Flagging an identity already flagged purges
    again: a document re-created since (it was shared then) goes if it no longer is."""
    now = datetime.now(UTC).isoformat()
    with write_transaction(engine) as conn:
        require_integer_ids(conn)
        found = _select_existing(conn, [identity_id]).get(identity_id)
        if found is None:
            raise IdentityNotFound(f"identity {identity_id} is not in the warehouse")
        conn.execute(sa.text(
            "UPDATE identity SET discogs_unavailable = :t, "
            "discogs_unavailable_note = COALESCE(:note, discogs_unavailable_note) "
            "WHERE identity_id = :id"), {"t": True, "note": note, "id": identity_id})
        return _purge_flagged(conn, [found], now)


def _purge_flagged(conn: sa.Connection, flagged: Sequence[Identity], now: str) -> PurgeCounts:
    """Purge the documents of ``flagged`` (already written as flagged) that no unflagged
    identity uses, and record their outcome."""
    if not flagged:
        return PurgeCounts()
    unflagged = conn.execute(
        sa.text("SELECT source, external_id FROM identity WHERE NOT discogs_unavailable "
                "AND source IN :sources").bindparams(sa.bindparam("sources", expanding=True)),
        {"sources": list(DISCOGS_SOURCES)}).all()
    counts = purge_documents(
        conn,
        releases={i.discogs_id for i in flagged if i.source == "discogs_release"},
        masters={i.discogs_id for i in flagged if i.source == "discogs_master"},
        kept_releases={int(e) for s, e in unflagged if s == "discogs_release"},
        kept_masters={int(e) for s, e in unflagged if s == "discogs_master"},
    )
    message = (f"flagged discogs_unavailable; purged {counts.total} cache document(s) no "
               "unflagged identity uses")
    for part in chunks([i.identity_id for i in flagged]):
        conn.execute(sa.text(
            "UPDATE identity SET warm_outcome = :outcome, warm_message = :message, "
            "warmed_at = :now WHERE identity_id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)),
            {"outcome": SKIPPED_DISCOGS_UNAVAILABLE, "message": message, "now": now,
             "ids": part})
    counts.identities = len(flagged)
    return counts


def load_identities(engine: sa.Engine, *, active_only: bool = True) -> list[Identity]:
    """Identities in ascending numeric id order (flagged ones included: callers count and
    skip them)."""
    where = " WHERE active" if active_only else ""
    with engine.connect() as conn:
        require_integer_ids(conn)
        rows = conn.execute(sa.text(
            f"SELECT {', '.join(_COLUMNS)} FROM identity{where} ORDER BY identity_id"))
        return [_row_to_identity(r) for r in rows]


@dataclass
class IdMigration:
    rows: int
    already_integer: bool


def migrate_identity_ids(engine: sa.Engine) -> IdMigration:
    """Convert a TEXT ``identity.identity_id`` to BIGINT, in one transaction, refusing (and
    listing) values that are not positive integers or that collide once converted."""
    with write_transaction(engine) as conn:
        if _identity_id_is_integer(conn):
            count = conn.execute(sa.text("SELECT COUNT(*) FROM identity")).scalar_one()
            return IdMigration(count, already_integer=True)
        values = conn.execute(sa.text(
            "SELECT identity_id FROM identity ORDER BY identity_id")).scalars().all()
        problems: list[str] = []
        seen: dict[int, str] = {}
        for value in values:
            try:
                number = parse_identity_id(value)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            if number in seen:
                problems.append(f"identity_id {value!r} and {seen[number]!r} are both {number}")
            seen[number] = value
        if problems:
            shown = "\n".join(f"  {p}" for p in problems[:MAX_REPORTED_ERRORS])
            raise IdentityIdsNotMigrated(
                f"{len(problems)} identity id(s) cannot become integers; fix or delete those "
                f"identities, then migrate again (nothing changed):\n{shown}")
        if is_postgres(conn):
            conn.execute(sa.text("ALTER TABLE identity ALTER COLUMN identity_id TYPE BIGINT "
                                 "USING identity_id::bigint"))
        else:
            _rebuild_sqlite_identity(conn)
        return IdMigration(len(values), already_integer=False)


def _rebuild_sqlite_identity(conn: sa.Connection) -> None:
    """SQLite cannot change a column's type: rebuild the table from its model, same rows."""
    old = "identity_text_ids"
    columns = [c["name"] for c in sa.inspect(conn).get_columns("identity")]
    conn.execute(sa.text(f"ALTER TABLE identity RENAME TO {old}"))
    conn.execute(sa.text("DROP INDEX identity_source_external_id"))  # re-created by the model
    (model,) = [m for m in list_models() if m.name == "identity"]
    for statement in model_statements(model, "sqlite"):
        execute_literal(conn, statement)
    selected = ", ".join("CAST(identity_id AS INTEGER)" if c == "identity_id" else c
                         for c in columns)
    conn.execute(sa.text(f"INSERT INTO identity ({', '.join(columns)}) "
                         f"SELECT {selected} FROM {old}"))
    conn.execute(sa.text(f"DROP TABLE {old}"))
