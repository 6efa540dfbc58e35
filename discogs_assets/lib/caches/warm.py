"""Local warm: build the documents of every active, unflagged identity into the cache tables.

Per identity one outcome: ``warmed``, ``not_found`` (record absent or tombstoned),
``not_implemented`` (a source this pipeline does not serve) or ``error`` (its documents could
not be built); flagged identities (``discogs_unavailable``) are only counted (flagging set their
outcome and purged their documents). A document is written only when its content hash changed,
and only the document columns are written, so the runtime columns applications own survive.
Identities are processed in chunks, one transaction each; the outcome of each identity is
recorded on its ``identity`` row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa

from ..layout import check_month
from ..warehouse.engine import write_transaction
from .counters import ERROR, NOT_FOUND, NOT_IMPLEMENTED, WARMED, LocalCounters, Log
from .documents import (
    CACHE_TABLES,
    CHUNK,
    Doc,
    artist_documents,
    canonical_json,
    chunks,
    content_hash,
    credited_artist_ids,
    master_documents,
    release_documents,
)
from .identities import DISCOGS_SOURCES, Identity, load_identities

# A document could not be built from these: bad data in a row, not a broken database.
_DATA_ERRORS: Final = (ValueError, TypeError, KeyError)


@dataclass
class WarmResult:
    """What one local warm did: the ``local.*`` counters, the flagged identities it skipped,
    and the cache-table writes ("cache_release_rewritten": n, ...)."""

    counters: LocalCounters
    skipped_discogs_unavailable: int
    documents: dict[str, int]


@dataclass(frozen=True)
class Outcome:
    identity_id: int
    outcome: str
    message: str | None = None
    release_warmed: bool = False
    artists_warmed: int = 0


def write_documents(conn: sa.Connection, kind: str, docs: dict[int, Doc], month: str,
                    now: str) -> dict[str, int]:
    """Insert new documents, rewrite changed ones, leave unchanged ones (and every runtime
    column) alone. Returns counts by ``inserted`` / ``rewritten`` / ``unchanged``."""
    table, key = CACHE_TABLES[kind]
    existing: dict[int, str] = {}
    select = sa.text(f"SELECT {key}, content_hash FROM {table} WHERE {key} IN :ids").bindparams(
        sa.bindparam("ids", expanding=True))
    for part in chunks(sorted(docs)):
        existing.update((k, h) for k, h in conn.execute(select, {"ids": part}))
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    for doc_id, doc in docs.items():
        digest = content_hash(doc)
        if existing.get(doc_id) == digest:
            continue
        row = {"id": doc_id, "doc": canonical_json(doc), "hash": digest, "month": month,
               "now": now}
        (updates if doc_id in existing else inserts).append(row)
    if inserts:
        conn.execute(sa.text(
            f"INSERT INTO {table} ({key}, document, content_hash, source_month, built_at) "
            "VALUES (:id, :doc, :hash, :month, :now)"), inserts)
    if updates:
        conn.execute(sa.text(
            f"UPDATE {table} SET document = :doc, content_hash = :hash, source_month = :month, "
            f"built_at = :now WHERE {key} = :id"), updates)
    return {"inserted": len(inserts), "rewritten": len(updates),
            "unchanged": len(docs) - len(inserts) - len(updates)}


@dataclass
class _Chunk:
    """What one chunk did; applied to the run's state only once its transaction committed."""

    outcomes: list[Outcome]
    artists_checked: set[int]
    artists_with_doc: set[int]
    writes: dict[str, int]


class _Warmer:
    def __init__(self, month: str, now: str) -> None:
        self.month = month
        self.now = now
        self.artists_with_doc: set[int] = set()  # artist documents warm from this run
        self.artists_checked: set[int] = set()  # artist ids already looked up in this run
        self.writes: dict[str, int] = {}

    def warm(self, conn: sa.Connection, identities: Sequence[Identity]) -> _Chunk:
        masters = master_documents(conn, sorted({i.discogs_id for i in identities
                                                 if i.source == "discogs_master"}))
        release_ids = {i.discogs_id for i in identities if i.source == "discogs_release"}
        release_ids |= {m["main_release_id"] for m in masters.values() if m["main_release_id"]}
        releases = release_documents(conn, sorted(release_ids))
        credited = {a for d in (*masters.values(), *releases.values())
                    for a in credited_artist_ids(d)}
        new_artists = credited - self.artists_checked
        artists: dict[int, Doc] = {}
        for part in chunks(sorted(new_artists)):
            artists.update(artist_documents(conn, part))
        writes: dict[str, int] = {}
        for kind, docs in (("master", masters), ("release", releases), ("artist", artists)):
            for name, n in write_documents(conn, kind, docs, self.month, self.now).items():
                writes[f"cache_{kind}_{name}"] = n
        with_doc = self.artists_with_doc | set(artists)
        outcomes = [_outcome(i, masters, releases, with_doc) for i in identities]
        return _Chunk(outcomes, new_artists, set(artists), writes)

    def commit(self, chunk: _Chunk) -> None:
        self.artists_checked |= chunk.artists_checked
        self.artists_with_doc |= chunk.artists_with_doc
        for key, n in chunk.writes.items():
            self.writes[key] = self.writes.get(key, 0) + n


def _outcome(ident: Identity, masters: dict[int, Doc], releases: dict[int, Doc],
             artists_with_doc: set[int]) -> Outcome:
    docs: list[Doc] = []
    if ident.source == "discogs_master":
        master = masters.get(ident.discogs_id)  # type: ignore[arg-type]
        if master is None:
            return Outcome(ident.identity_id, NOT_FOUND,
                           f"master {ident.external_id} is not in the warehouse or was removed")
        docs.append(master)
        release = releases.get(master["main_release_id"])
    else:
        release = releases.get(ident.discogs_id)  # type: ignore[arg-type]
        if release is None:
            return Outcome(ident.identity_id, NOT_FOUND,
                           f"release {ident.external_id} is not in the warehouse or was removed")
    if release is not None:
        docs.append(release)
    credited = {a for d in docs for a in credited_artist_ids(d)}
    return Outcome(ident.identity_id, WARMED, release_warmed=release is not None,
                   artists_warmed=len(credited & artists_with_doc))


def _record_outcomes(conn: sa.Connection, outcomes: Iterable[Outcome], month: str,
                     now: str) -> None:
    params = [{"id": o.identity_id, "outcome": o.outcome, "message": o.message, "month": month,
               "now": now} for o in outcomes]
    if params:
        conn.execute(sa.text(
            "UPDATE identity SET warm_outcome = :outcome, warm_message = :message, "
            "warm_month = :month, warmed_at = :now WHERE identity_id = :id"), params)


def warm_local(engine: sa.Engine, month: str, log: Log, *,
               chunk_size: int = CHUNK) -> WarmResult:
    """Warm the caches from the warehouse state after loading ``month``."""
    check_month(month)
    now = datetime.now(UTC).isoformat()
    identities = load_identities(engine, active_only=True)
    warmer = _Warmer(month, now)
    todo: list[Identity] = []
    outcomes: list[Outcome] = []
    skipped = 0
    for ident in identities:
        if ident.discogs_unavailable:
            skipped += 1  # never touched: flagging already recorded its outcome
        elif ident.source not in DISCOGS_SOURCES:
            outcomes.append(Outcome(ident.identity_id, NOT_IMPLEMENTED,
                                    f"source {ident.source} is not served by this pipeline"))
        else:
            todo.append(ident)
    with write_transaction(engine) as conn:
        _record_outcomes(conn, outcomes, month, now)
    for start in range(0, len(todo), chunk_size):
        part = todo[start : start + chunk_size]
        chunk_outcomes = _warm_chunk(engine, warmer, part, month, now, log)
        outcomes.extend(chunk_outcomes)
    counters = LocalCounters()
    for o in outcomes:
        counters.record(o.outcome, release_warmed=o.release_warmed,
                        artists_warmed=o.artists_warmed)
    result = WarmResult(counters, skipped, dict(warmer.writes))
    log.info(f"local cache warm for {month}: {counters.as_metadata()}, "
             f"skipped_discogs_unavailable={skipped}; documents {result.documents}")
    return result


def _warm_chunk(engine: sa.Engine, warmer: _Warmer, part: Sequence[Identity], month: str,
                now: str, log: Log) -> list[Outcome]:
    """One transaction for the chunk; if its data cannot be built, retry identity by identity
    so one bad record marks only its identities as ``error``."""
    try:
        with write_transaction(engine) as conn:
            chunk = warmer.warm(conn, part)
            _record_outcomes(conn, chunk.outcomes, month, now)
        warmer.commit(chunk)
        return chunk.outcomes
    except _DATA_ERRORS as exc:
        if len(part) > 1:
            return [o for ident in part for o in _warm_chunk(engine, warmer, [ident], month,
                                                             now, log)]
        ident = part[0]
        message = f"{ident.source} {ident.external_id}: {exc.__class__.__name__}: {exc}"
        log.warning(f"local cache warm of identity {ident.identity_id} failed: {message}")
        outcome = Outcome(ident.identity_id, ERROR, message[:500])
        with write_transaction(engine) as conn:
            _record_outcomes(conn, [outcome], month, now)
        return [outcome]
