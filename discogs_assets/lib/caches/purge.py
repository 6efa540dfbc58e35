"""Purge the cache documents of identities just flagged ``discogs_unavailable``.

An identity's documents are the ones the local warm writes for it: its release (or its master
and the master's main release) and one per artist those credit. The candidates come from the
warehouse (what a warm derives today) and from the cached documents themselves (what was
served, possibly built from an older month). A candidate is kept when an unflagged identity
uses it, judged from the warehouse's current state, which is what the next warm writes from.
Runs inside the caller's transaction: the flag and the purge commit together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .documents import CACHE_TABLES, chunks, credited_artist_ids, real_id


@dataclass
class PurgeCounts:
    """Identities flagged and cache documents deleted, per cache table."""

    identities: int = 0
    cache_release: int = 0
    cache_master: int = 0
    cache_artist: int = 0

    @property
    def total(self) -> int:
        return self.cache_release + self.cache_master + self.cache_artist


def _column(conn: sa.Connection, sql: str, ids: Iterable[int], **more: list[int]) -> set[int]:
    """First column of ``sql`` (whose ``:ids`` and any ``more`` are expanding IN lists) over
    ``ids`` in chunks, as a set of real ids."""
    query = sa.text(sql).bindparams(sa.bindparam("ids", expanding=True),
                                    *(sa.bindparam(k, expanding=True) for k in more))
    out: set[int] = set()
    for part in chunks(sorted(ids)):
        out.update(v for (v,) in conn.execute(query, {"ids": part, **more})
                   if real_id(v) is not None)
    return out


def _documents(conn: sa.Connection, kind: str, ids: Iterable[int]) -> list[dict[str, Any]]:
    table, key = CACHE_TABLES[kind]
    query = sa.text(f"SELECT document FROM {table} WHERE {key} IN :ids").bindparams(
        sa.bindparam("ids", expanding=True))
    docs: list[dict[str, Any]] = []
    for part in chunks(sorted(ids)):
        # JSONB comes back decoded on PostgreSQL, as JSON text on SQLite
        docs.extend(json.loads(d) if isinstance(d, str) else d
                    for (d,) in conn.execute(query, {"ids": part}))
    return docs


def _main_releases(conn: sa.Connection, masters: set[int], *, cached: bool) -> set[int]:
    """Main releases of ``masters`` in the warehouse and, with ``cached``, in their cached
    documents too."""
    found = _column(conn, "SELECT main_release_id FROM master WHERE id IN :ids", masters)
    if cached:
        found.update(r for d in _documents(conn, "master", masters)
                     if (r := real_id(d.get("main_release_id"))) is not None)
    return found


def _credited(conn: sa.Connection, releases: set[int], masters: set[int]) -> set[int]:
    found = _column(conn, "SELECT artist_id FROM release_artist WHERE release_id IN :ids",
                    releases)
    found |= _column(conn, "SELECT artist_id FROM release_track_artist "
                           "WHERE release_id IN :ids", releases)
    found |= _column(conn, "SELECT artist_id FROM master_artist WHERE master_id IN :ids",
                     masters)
    for doc in (*_documents(conn, "release", releases), *_documents(conn, "master", masters)):
        found.update(credited_artist_ids(doc))
    return found


def _still_credited(conn: sa.Connection, artists: set[int], releases: set[int],
                    masters: set[int]) -> set[int]:
    """The ``artists`` that a release or master of ``releases``/``masters`` credits. Walks the
    (bounded) identity side by primary key: one artist can be credited on millions of
    releases ("Various"), one identity's release has a handful of credits."""
    kept: set[int] = set()
    for sql, owners in (
        ("SELECT DISTINCT artist_id FROM release_artist WHERE release_id IN :ids "
         "AND artist_id IN :artists", releases),
        ("SELECT DISTINCT artist_id FROM release_track_artist WHERE release_id IN :ids "
         "AND artist_id IN :artists", releases),
        ("SELECT DISTINCT artist_id FROM master_artist WHERE master_id IN :ids "
         "AND artist_id IN :artists", masters),
    ):
        for part in chunks(sorted(artists - kept)):
            if owners:
                kept |= _column(conn, sql, owners, artists=part)
    return kept


def _delete(conn: sa.Connection, kind: str, ids: set[int]) -> int:
    table, key = CACHE_TABLES[kind]
    query = sa.text(f"DELETE FROM {table} WHERE {key} IN :ids").bindparams(
        sa.bindparam("ids", expanding=True))
    return sum(conn.execute(query, {"ids": part}).rowcount for part in chunks(sorted(ids)))


def purge_documents(conn: sa.Connection, *, releases: set[int], masters: set[int],
                    kept_releases: set[int], kept_masters: set[int]) -> PurgeCounts:
    """Delete the documents of the flagged identities' ``releases``/``masters`` that no
    unflagged identity (whose Discogs ids are ``kept_releases``/``kept_masters``) uses."""
    candidate_releases = releases | _main_releases(conn, masters, cached=True)
    candidate_artists = _credited(conn, candidate_releases, masters)
    # an unflagged master identity uses its master's main release
    masters_of = sa.text("SELECT id, main_release_id FROM master WHERE main_release_id IN :ids"
                         ).bindparams(sa.bindparam("ids", expanding=True))
    mains_in_use = {main for part in chunks(sorted(candidate_releases))
                    for master, main in conn.execute(masters_of, {"ids": part})
                    if master in kept_masters}
    keep_releases = candidate_releases & (kept_releases | mains_in_use)
    keep_artists: set[int] = set()
    if candidate_artists:
        in_use = kept_releases | _main_releases(conn, kept_masters, cached=False)
        keep_artists = _still_credited(conn, candidate_artists, in_use, kept_masters)
    return PurgeCounts(
        cache_release=_delete(conn, "release", candidate_releases - keep_releases),
        cache_master=_delete(conn, "master", masters - kept_masters),
        cache_artist=_delete(conn, "artist", candidate_artists - keep_artists),
    )
