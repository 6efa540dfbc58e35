"""The lxml reference extractor: one record element → rows of every table of its entity.

Deliberately plain and independent of the fast path (it shares only the table contract), so the
differential tests compare two interpretations of the XML. It also localises errors: records are
parsed one at a time, so a broken one is known by its offset and id.

Conventions both engines follow (and the tests pin down):
- a child row exists for every element of the row tag (``<video/>`` gives a row of nulls),
  except in the lists of strings (urls, name variations, genres, styles), where an empty
  element is skipped; ``position`` counts the rows' elements within their container, from 0;
- empty text or attribute → null; ids ``0`` or absent → null (never invented);
- ``is_main_release`` is null when the release has no master;
- tracks are numbered in document order: a heading, then its sub-tracks, then the next track.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
from lxml import etree

from discogs_assets.lib.parsing.chunks import RECORD_TAG
from discogs_assets.lib.parsing.xmlsafe import safe_parser
from discogs_assets.lib.tables import TableSpec, tables_for

_Element = Any  # lxml's _Element (its stubs are not shipped)
_BOOL = {"true": True, "1": True, "yes": True, "on": True, "t": True, "y": True,
         "false": False, "0": False, "no": False, "off": False, "f": False, "n": False}
_PARSER = safe_parser()


class RecordError(ValueError):
    """A record that cannot be turned into rows (bad XML or a bad value)."""


def _s(value: str | None) -> str | None:
    return value if value else None


def _int(value: str | None, what: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise RecordError(f"{what}: {value!r} is not an integer") from None


def _id(value: str | None, what: str) -> int | None:
    number = _int(value, what)
    return number or None  # 0 is the old "no such entity" sentinel


def _bool(value: str | None, what: str) -> bool | None:
    if value is None or not value.strip():
        return None
    try:
        return _BOOL[value.strip().lower()]
    except KeyError:
        raise RecordError(f"{what}: {value!r} is not a boolean") from None


def _children(el: _Element) -> dict[str, _Element]:
    """First child element of each tag (records hold at most one of each field)."""
    found: dict[str, _Element] = {}
    for child in el:
        if isinstance(child.tag, str) and child.tag not in found:
            found[child.tag] = child
    return found


def _text(fields: dict[str, _Element], tag: str) -> str | None:
    el = fields.get(tag)
    return el.text or None if el is not None else None


def _items(fields: dict[str, _Element], container: str, tag: str) -> list[_Element]:
    el = fields.get(container)
    return [] if el is None else [c for c in el if c.tag == tag]


class Rows:
    """Column lists for every table of one entity, appended to record by record."""

    def __init__(self, entity: str) -> None:
        self.specs: dict[str, TableSpec] = {t.name: t for t in tables_for(entity)}
        self.columns: dict[str, dict[str, list[Any]]] = {
            name: {col: [] for col in spec.columns} for name, spec in self.specs.items()
        }

    def add(self, table: str, *values: Any) -> None:
        for column, value in zip(self.columns[table].values(), values, strict=True):
            column.append(value)

    def mark(self) -> dict[str, int]:
        return {name: len(next(iter(cols.values()))) for name, cols in self.columns.items()}

    def rollback(self, mark: dict[str, int]) -> None:
        for name, cols in self.columns.items():
            for values in cols.values():
                del values[mark[name]:]

    def tables(self) -> dict[str, pa.Table]:
        return {name: pa.table(self.columns[name], schema=spec.arrow_schema)
                for name, spec in self.specs.items()}


def _credits(rows: Rows, table: str, key: tuple[Any, ...], items: list[_Element],
             extra: bool | None, with_tracks: bool) -> None:
    for pos, artist in enumerate(items):
        f = _children(artist)
        values = [*key, pos] if extra is None else [*key, pos, extra]
        values += [_id(_text(f, "id"), "artist id"), _text(f, "name"), _text(f, "anv"),
                   _text(f, "join"), _text(f, "role")]
        if with_tracks:
            values.append(_text(f, "tracks"))
        rows.add(table, *values)


def _videos(rows: Rows, table: str, rid: int, items: list[_Element]) -> None:
    for pos, video in enumerate(items):
        f = _children(video)
        rows.add(table, rid, pos, _s(video.get("src")),
                 _int(video.get("duration"), "video duration"),
                 _bool(video.get("embed"), "video embed"), _text(f, "title"),
                 _text(f, "description"))


def _texts(rows: Rows, table: str, rid: int, items: list[_Element]) -> None:
    """A list of strings: empty elements carry nothing and are skipped."""
    for pos, text in enumerate(el.text for el in items if el.text):
        rows.add(table, rid, pos, text)


def _named_ids(rows: Rows, table: str, rid: int, items: list[_Element], what: str) -> None:
    for pos, el in enumerate(items):
        rows.add(table, rid, pos, _id(el.get("id"), what), el.text or None)


def _record_id(value: str | None) -> int:
    rid = _id(value, "record id")
    if rid is None:
        raise RecordError("record has no id")
    return rid


def label(rows: Rows, rec: _Element) -> None:
    f = _children(rec)
    rid = _record_id(_text(f, "id"))
    parent = f.get("parentLabel")
    rows.add("label", rid, _text(f, "name"), _text(f, "contactinfo"), _text(f, "profile"),
             _text(f, "data_quality"),
             None if parent is None else _id(parent.get("id"), "parent label id"),
             None if parent is None else parent.text or None)
    _named_ids(rows, "label_sublabel", rid, _items(f, "sublabels", "label"), "sublabel id")
    _texts(rows, "label_url", rid, _items(f, "urls", "url"))


def artist(rows: Rows, rec: _Element) -> None:
    f = _children(rec)
    rid = _record_id(_text(f, "id"))
    rows.add("artist", rid, _text(f, "name"), _text(f, "realname"), _text(f, "profile"),
             _text(f, "data_quality"))
    _named_ids(rows, "artist_alias", rid, _items(f, "aliases", "name"), "alias id")
    _texts(rows, "artist_namevariation", rid, _items(f, "namevariations", "name"))
    # 2020 layout interleaves <id> with <name id>; only <name> elements are members.
    _named_ids(rows, "artist_member", rid, _items(f, "members", "name"), "member id")
    _named_ids(rows, "artist_group", rid, _items(f, "groups", "name"), "group id")
    _texts(rows, "artist_url", rid, _items(f, "urls", "url"))


def master(rows: Rows, rec: _Element) -> None:
    f = _children(rec)
    rid = _record_id(rec.get("id"))
    rows.add("master", rid, _text(f, "title"), _int(_text(f, "year"), "year"),
             _id(_text(f, "main_release"), "main release id"), _text(f, "notes"),
             _text(f, "data_quality"))
    _credits(rows, "master_artist", (rid,), _items(f, "artists", "artist"), None, False)
    _texts(rows, "master_genre", rid, _items(f, "genres", "genre"))
    _texts(rows, "master_style", rid, _items(f, "styles", "style"))
    _videos(rows, "master_video", rid, _items(f, "videos", "video"))


def _tracks(rows: Rows, rid: int, tracks: list[_Element]) -> None:
    idx = 0

    def one(track: _Element, parent: int | None) -> dict[str, _Element]:
        nonlocal idx
        f = _children(track)
        me = idx
        idx += 1
        rows.add("release_track", rid, me, parent, _text(f, "position"), _text(f, "title"),
                 _text(f, "duration"))
        _credits(rows, "release_track_artist", (rid, me), _items(f, "artists", "artist"),
                 False, False)
        _credits(rows, "release_track_artist", (rid, me), _items(f, "extraartists", "artist"),
                 True, False)
        return f

    for track in tracks:
        heading = idx
        f = one(track, None)
        for sub in _items(f, "sub_tracks", "track"):
            one(sub, heading)


def release(rows: Rows, rec: _Element) -> None:
    f = _children(rec)
    rid = _record_id(rec.get("id"))
    master_el = f.get("master_id")
    master_id = None if master_el is None else _id(master_el.text, "master id")
    is_main = (None if master_id is None
               else _bool(master_el.get("is_main_release"), "is_main_release"))
    rows.add("release", rid, _s(rec.get("status")), _text(f, "title"), _text(f, "country"),
             _text(f, "released"), _text(f, "notes"), _text(f, "data_quality"), master_id,
             is_main)
    _credits(rows, "release_artist", (rid,), _items(f, "artists", "artist"), False, True)
    _credits(rows, "release_artist", (rid,), _items(f, "extraartists", "artist"), True, True)
    for pos, el in enumerate(_items(f, "labels", "label")):
        rows.add("release_label", rid, pos, _id(el.get("id"), "label id"), _s(el.get("name")),
                 _s(el.get("catno")))
    for pos, el in enumerate(_items(f, "series", "series")):
        rows.add("release_series", rid, pos, _id(el.get("id"), "series id"),
                 _s(el.get("name")), _s(el.get("catno")))
    for pos, el in enumerate(_items(f, "formats", "format")):
        descriptions = [d.text or None for d in _items(_children(el), "descriptions",
                                                          "description")]
        rows.add("release_format", rid, pos, _s(el.get("name")), _s(el.get("qty")),
                 _s(el.get("text")), descriptions or None)
    _texts(rows, "release_genre", rid, _items(f, "genres", "genre"))
    _texts(rows, "release_style", rid, _items(f, "styles", "style"))
    _tracks(rows, rid, _items(f, "tracklist", "track"))
    for pos, el in enumerate(_items(f, "identifiers", "identifier")):
        rows.add("release_identifier", rid, pos, _s(el.get("type")), _s(el.get("value")),
                 _s(el.get("description")))
    _videos(rows, "release_video", rid, _items(f, "videos", "video"))
    for pos, el in enumerate(_items(f, "companies", "company")):
        c = _children(el)
        rows.add("release_company", rid, pos, _id(_text(c, "id"), "company id"),
                 _text(c, "name"), _text(c, "catno"),
                 _int(_text(c, "entity_type"), "entity_type"), _text(c, "entity_type_name"),
                 _text(c, "resource_url"))


EXTRACTORS: dict[str, Callable[[Rows, _Element], None]] = {
    "labels": label, "artists": artist, "masters": master, "releases": release,
}


def extract_records(entity: str, rows: Rows, data: bytes) -> int:
    """Append the rows of the records in ``data`` (one line of a dump: usually one record,
    sometimes several). All or nothing: on ``RecordError`` no row of ``data`` is kept.
    Returns the number of records."""
    root = entity.encode()
    try:
        element = etree.fromstring(b"<" + root + b">" + data + b"</" + root + b">", _PARSER)
    except etree.XMLSyntaxError as exc:
        raise RecordError(f"malformed XML: {exc}") from None
    tag = RECORD_TAG[entity]
    mark = rows.mark()
    count = 0
    try:
        for record in element:
            if record.tag != tag:
                raise RecordError(f"expected a <{tag}> record, found <{record.tag}>")
            EXTRACTORS[entity](rows, record)
            count += 1
    except Exception:
        rows.rollback(mark)
        raise
    return count
