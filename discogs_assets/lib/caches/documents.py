"""Build the cache documents (plain JSON-able dicts) from the warehouse tables.

Tables and columns come from the parsed-table contract (``lib/tables.py``), so every field the
warehouse holds reaches the document. Only current rows are used: a tombstoned release, master
or artist (``removed_in_month`` set) yields no document. Lists keep the dump's order.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa

from ..tables import TABLES_BY_NAME

Doc = dict[str, Any]
CHUNK: Final = 500  # ids per IN (...) query; far below SQLite's bound-parameter limit
# kind -> (cache table, key column); identifiers only from this fixed list.
CACHE_TABLES: Final = {
    "release": ("cache_release", "release_id"),
    "master": ("cache_master", "master_id"),
    "artist": ("cache_artist", "artist_id"),
}


def content_hash(doc: Doc) -> str:
    """SHA-256 of the canonical JSON text: equal content, equal hash, whatever the key order."""
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def canonical_json(doc: Doc) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def real_id(value: int | None) -> int | None:
    """Old dumps wrote ``0`` for an unlinked credit, new ones omit the id: both mean none."""
    return value if value is not None and value > 0 else None


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


def _rows(conn: sa.Connection, table: str, ids: Sequence[int]) -> dict[int, list[Doc]]:
    """Rows of a contract table for the given owners, grouped by owner, in key order."""
    spec = TABLES_BY_NAME[table]
    columns = ", ".join(f'"{c}"' for c in spec.columns)  # quoted: "join" is a keyword
    order = ", ".join(spec.unique_key)
    query = sa.text(
        f"SELECT {columns} FROM {table} WHERE {spec.parent_key} IN :ids ORDER BY {order}"
    ).bindparams(sa.bindparam("ids", expanding=True))
    grouped: dict[int, list[Doc]] = defaultdict(list)
    for row in conn.execute(query, {"ids": list(ids)}).mappings():
        grouped[row[spec.parent_key]].append(dict(row))
    return grouped


def _roots(conn: sa.Connection, table: str, ids: Sequence[int]) -> dict[int, Doc]:
    """Current (not tombstoned) root rows by id."""
    columns = ", ".join(f'"{c}"' for c in TABLES_BY_NAME[table].columns)
    query = sa.text(
        f"SELECT {columns} FROM {table} WHERE id IN :ids AND removed_in_month IS NULL"
    ).bindparams(sa.bindparam("ids", expanding=True))
    return {row["id"]: dict(row) for row in conn.execute(query, {"ids": list(ids)}).mappings()}


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)  # SQLite hands booleans back as 0/1


def _json_list(value: Any) -> list[Any] | None:
    """A list column: JSONB comes back decoded on PostgreSQL, as JSON text on SQLite."""
    return json.loads(value) if isinstance(value, str) else value


def _credit(row: Doc) -> Doc:
    return {"id": real_id(row["artist_id"]), "name": row["name"], "anv": row["anv"],
            "join": row["join"], "role": row["role"]}


def _split_credits(rows: list[Doc], *, with_tracks: bool = False) -> tuple[list[Doc], list[Doc]]:
    main: list[Doc] = []
    extra: list[Doc] = []
    for row in rows:
        credit = _credit(row)
        if with_tracks:
            credit["tracks"] = row["tracks"]
        (extra if row["extra"] else main).append(credit)
    return main, extra


def _video(row: Doc) -> Doc:
    return {"src": row["src"], "duration": row["duration"], "embed": _bool(row["embed"]),
            "title": row["title"], "description": row["description"]}


def _tracklist(tracks: list[Doc], credits: list[Doc]) -> list[Doc]:
    """Nest sub-tracks under their parent (``parent_idx`` is the parent's ``track_idx``)."""
    by_track: dict[int, list[Doc]] = defaultdict(list)
    for row in credits:
        by_track[row["track_idx"]].append(row)
    nodes: dict[int, Doc] = {}
    top: list[Doc] = []
    for row in tracks:  # ordered by track_idx: a parent always precedes its sub-tracks
        artists, extra = _split_credits(by_track.get(row["track_idx"], []))
        node = {"position": row["position"], "title": row["title"], "duration": row["duration"],
                "artists": artists, "extraartists": extra, "sub_tracks": []}
        nodes[row["track_idx"]] = node
        parent = nodes.get(row["parent_idx"]) if row["parent_idx"] is not None else None
        (parent["sub_tracks"] if parent is not None else top).append(node)
    return top


def release_documents(conn: sa.Connection, ids: Sequence[int]) -> dict[int, Doc]:
    """Documents of the current releases among ``ids`` (absent or tombstoned ones are left out)."""
    releases = _roots(conn, "release", ids)
    found = sorted(releases)
    if not found:
        return {}
    child = {t: _rows(conn, t, found) for t in (
        "release_artist", "release_label", "release_series", "release_format", "release_genre",
        "release_style", "release_track", "release_track_artist", "release_identifier",
        "release_video", "release_company")}
    masters = _roots(conn, "master", sorted({m for r in releases.values()
                                             if (m := real_id(r["master_id"]))}))
    docs: dict[int, Doc] = {}
    for rid in found:
        r = releases[rid]
        artists, extra = _split_credits(child["release_artist"].get(rid, []), with_tracks=True)
        master_id = real_id(r["master_id"])
        master = masters.get(master_id) if master_id else None
        docs[rid] = {
            "id": rid, "title": r["title"], "status": r["status"], "country": r["country"],
            "released": r["released"], "notes": r["notes"], "data_quality": r["data_quality"],
            "master": None if master_id is None else {
                "id": master_id, "is_main_release": _bool(r["is_main_release"]),
                "title": master["title"] if master else None,
                "year": master["year"] if master else None,
                "main_release_id": master["main_release_id"] if master else None,
            },
            "artists": artists,
            "extraartists": extra,
            "labels": [{"id": real_id(x["label_id"]), "name": x["name"], "catno": x["catno"]}
                       for x in child["release_label"].get(rid, [])],
            "series": [{"id": real_id(x["series_id"]), "name": x["name"], "catno": x["catno"]}
                       for x in child["release_series"].get(rid, [])],
            "formats": [{"name": x["name"], "qty": x["qty"], "text": x["text"],
                         "descriptions": _json_list(x["descriptions"])}
                        for x in child["release_format"].get(rid, [])],
            "genres": [x["genre"] for x in child["release_genre"].get(rid, [])],
            "styles": [x["style"] for x in child["release_style"].get(rid, [])],
            "tracklist": _tracklist(child["release_track"].get(rid, []),
                                    child["release_track_artist"].get(rid, [])),
            "identifiers": [{"type": x["type"], "value": x["value"],
                             "description": x["description"]}
                            for x in child["release_identifier"].get(rid, [])],
            "companies": [{"id": real_id(x["company_id"]), "name": x["name"],
                           "catno": x["catno"], "entity_type": x["entity_type"],
                           "entity_type_name": x["entity_type_name"]}
                          for x in child["release_company"].get(rid, [])],
            "videos": [_video(x) for x in child["release_video"].get(rid, [])],
        }
    return docs


def master_documents(conn: sa.Connection, ids: Sequence[int]) -> dict[int, Doc]:
    masters = _roots(conn, "master", ids)
    found = sorted(masters)
    if not found:
        return {}
    child = {t: _rows(conn, t, found)
             for t in ("master_artist", "master_genre", "master_style", "master_video")}
    docs: dict[int, Doc] = {}
    for mid in found:
        m = masters[mid]
        docs[mid] = {
            "id": mid, "title": m["title"], "year": m["year"],
            "main_release_id": real_id(m["main_release_id"]), "notes": m["notes"],
            "data_quality": m["data_quality"],
            "artists": [_credit(x) for x in child["master_artist"].get(mid, [])],
            "genres": [x["genre"] for x in child["master_genre"].get(mid, [])],
            "styles": [x["style"] for x in child["master_style"].get(mid, [])],
            "videos": [_video(x) for x in child["master_video"].get(mid, [])],
        }
    return docs


def artist_documents(conn: sa.Connection, ids: Sequence[int]) -> dict[int, Doc]:
    artists = _roots(conn, "artist", ids)
    found = sorted(artists)
    if not found:
        return {}
    child = {t: _rows(conn, t, found) for t in (
        "artist_alias", "artist_namevariation", "artist_member", "artist_group", "artist_url")}
    docs: dict[int, Doc] = {}
    for aid in found:
        a = artists[aid]
        docs[aid] = {
            "id": aid, "name": a["name"], "realname": a["realname"], "profile": a["profile"],
            "data_quality": a["data_quality"],
            "namevariations": [x["name"] for x in child["artist_namevariation"].get(aid, [])],
            "urls": [x["url"] for x in child["artist_url"].get(aid, [])],
            "aliases": [{"id": real_id(x["alias_id"]), "name": x["name"]}
                        for x in child["artist_alias"].get(aid, [])],
            "members": [{"id": real_id(x["member_id"]), "name": x["name"]}
                        for x in child["artist_member"].get(aid, [])],
            "groups": [{"id": real_id(x["group_id"]), "name": x["name"]}
                       for x in child["artist_group"].get(aid, [])],
        }
    return docs


def credited_artist_ids(doc: Doc) -> list[int]:
    """Distinct real artist ids credited anywhere in a release or master document, in order."""
    seen: dict[int, None] = {}

    def add(credits: Iterable[Doc]) -> None:
        for credit in credits:
            if credit["id"] is not None:
                seen.setdefault(credit["id"], None)

    add(doc.get("artists", []))
    add(doc.get("extraartists", []))
    stack = list(doc.get("tracklist", []))
    while stack:
        track = stack.pop(0)
        add(track["artists"])
        add(track["extraartists"])
        stack[:0] = track["sub_tracks"]
    return list(seen)
