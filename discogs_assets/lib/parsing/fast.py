"""The fast path: xml2arrow (Rust, GIL released) parses a chunk into Arrow tables, polars joins
the per-level indexes back to record ids and shapes the contract tables.

xml2arrow is configured per entity by the ``SPECS`` below (rendered to a YAML file once per
process). Each spec table has a container path, its levels (one ``uint32`` index column per
nesting boundary, named ``<level>``) and fields relative to the row element. The index of the
record level is the record's ordinal within the chunk; the last level is the row's position
within its container. Semantics match the reference (see reference.py's docstring).
"""

from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from xml2arrow import XmlToArrowParser

from discogs_assets.lib.parsing.chunks import RECORD_TAG
from discogs_assets.lib.tables import TABLES_BY_NAME, tables_for

_ID = "Int64"


@dataclass(frozen=True)
class _Spec:
    name: str
    container: str  # path below the record element ("" = the record itself)
    row: str  # row element name inside the container
    levels: tuple[str, ...]  # levels below the record level
    fields: tuple[tuple[str, str, str], ...]  # (column, path below the row element, type)


def _credit(tracks: bool) -> tuple[tuple[str, str, str], ...]:
    cols = [("artist_id", "id", _ID), ("name", "name", "Utf8"), ("anv", "anv", "Utf8"),
            ("join", "join", "Utf8"), ("role", "role", "Utf8")]
    return (*cols, ("tracks", "tracks", "Utf8")) if tracks else tuple(cols)


_VIDEO = (("src", "@src", "Utf8"), ("duration", "@duration", "Int32"),
          ("embed", "@embed", "Boolean"), ("title", "title", "Utf8"),
          ("description", "description", "Utf8"))
_TEXT = (("value", "", "Utf8"),)
_NAMED_ID = (("ref_id", "@id", _ID), ("name", "", "Utf8"))
_TRACK = (("position", "position", "Utf8"), ("title", "title", "Utf8"),
          ("duration", "duration", "Utf8"))
_SUB = "tracklist/track/sub_tracks"

SPECS: dict[str, tuple[_Spec, ...]] = {
    "labels": (
        _Spec("label", "", "", (), (
            ("id", "id", _ID), ("name", "name", "Utf8"), ("contact_info", "contactinfo", "Utf8"),
            ("profile", "profile", "Utf8"), ("data_quality", "data_quality", "Utf8"),
            ("parent_label_id", "parentLabel/@id", _ID),
            ("parent_label_name", "parentLabel", "Utf8"))),
        _Spec("label_sublabel", "sublabels", "label", ("i",), _NAMED_ID),
        _Spec("label_url", "urls", "url", ("i",), _TEXT),
    ),
    "artists": (
        _Spec("artist", "", "", (), (
            ("id", "id", _ID), ("name", "name", "Utf8"), ("realname", "realname", "Utf8"),
            ("profile", "profile", "Utf8"), ("data_quality", "data_quality", "Utf8"))),
        _Spec("artist_alias", "aliases", "name", ("i",), _NAMED_ID),
        _Spec("artist_namevariation", "namevariations", "name", ("i",), _TEXT),
        _Spec("artist_member", "members", "name", ("i",), _NAMED_ID),
        _Spec("artist_group", "groups", "name", ("i",), _NAMED_ID),
        _Spec("artist_url", "urls", "url", ("i",), _TEXT),
    ),
    "masters": (
        _Spec("master", "", "", (), (
            ("id", "@id", _ID), ("title", "title", "Utf8"), ("year", "year", "Int32"),
            ("main_release_id", "main_release", _ID), ("notes", "notes", "Utf8"),
            ("data_quality", "data_quality", "Utf8"))),
        _Spec("master_artist", "artists", "artist", ("i",), _credit(False)),
        _Spec("master_genre", "genres", "genre", ("i",), _TEXT),
        _Spec("master_style", "styles", "style", ("i",), _TEXT),
        _Spec("master_video", "videos", "video", ("i",), _VIDEO),
    ),
    "releases": (
        _Spec("release", "", "", (), (
            ("id", "@id", _ID), ("status", "@status", "Utf8"), ("title", "title", "Utf8"),
            ("country", "country", "Utf8"), ("released", "released", "Utf8"),
            ("notes", "notes", "Utf8"), ("data_quality", "data_quality", "Utf8"),
            ("master_id", "master_id", _ID),
            ("is_main_release", "master_id/@is_main_release", "Boolean"))),
        _Spec("artist", "artists", "artist", ("i",), _credit(True)),
        _Spec("extraartist", "extraartists", "artist", ("i",), _credit(True)),
        _Spec("label", "labels", "label", ("i",), (
            ("label_id", "@id", _ID), ("name", "@name", "Utf8"), ("catno", "@catno", "Utf8"))),
        _Spec("series", "series", "series", ("i",), (
            ("series_id", "@id", _ID), ("name", "@name", "Utf8"), ("catno", "@catno", "Utf8"))),
        _Spec("format", "formats", "format", ("i",), (
            ("name", "@name", "Utf8"), ("qty", "@qty", "Utf8"), ("text", "@text", "Utf8"))),
        _Spec("description", "formats/format/descriptions", "description", ("i", "d"), _TEXT),
        _Spec("genre", "genres", "genre", ("i",), _TEXT),
        _Spec("style", "styles", "style", ("i",), _TEXT),
        _Spec("track", "tracklist", "track", ("t",), _TRACK),
        _Spec("subtrack", _SUB, "track", ("t", "s"), _TRACK),
        _Spec("track_artist", "tracklist/track/artists", "artist", ("t", "i"),
              _credit(False)),
        _Spec("track_extraartist", "tracklist/track/extraartists", "artist", ("t", "i"),
              _credit(False)),
        _Spec("subtrack_artist", f"{_SUB}/track/artists", "artist", ("t", "s", "i"),
              _credit(False)),
        _Spec("subtrack_extraartist", f"{_SUB}/track/extraartists", "artist",
              ("t", "s", "i"), _credit(False)),
        _Spec("identifier", "identifiers", "identifier", ("i",), (
            ("type", "@type", "Utf8"), ("value", "@value", "Utf8"),
            ("description", "@description", "Utf8"))),
        _Spec("video", "videos", "video", ("i",), _VIDEO),
        _Spec("company", "companies", "company", ("i",), (
            ("company_id", "id", _ID), ("name", "name", "Utf8"), ("catno", "catno", "Utf8"),
            ("entity_type", "entity_type", "Int32"),
            ("entity_type_name", "entity_type_name", "Utf8"),
            ("resource_url", "resource_url", "Utf8"))),
    ),
}


def _config(entity: str) -> dict[str, object]:
    root = f"/{entity}"
    record = f"{root}/{RECORD_TAG[entity]}"
    tables = []
    for spec in SPECS[entity]:
        if spec.container:
            xml_path, row = f"{record}/{spec.container}", f"{record}/{spec.container}/{spec.row}"
        else:
            xml_path, row = root, record
        fields = [{"name": col, "xml_path": f"{row}/{path}" if path else row,
                   "data_type": dtype, "nullable": True} for col, path, dtype in spec.fields]
        tables.append({"name": spec.name, "xml_path": xml_path,
                       "levels": ["r", *spec.levels], "fields": fields})
    return {"parser_options": {"trim_text": False}, "tables": tables}


@functools.cache
def _parser(entity: str) -> XmlToArrowParser:
    """One compiled parser per entity and process (YAML is a superset of JSON)."""
    directory = Path(tempfile.mkdtemp(prefix="discogs-xml2arrow-"))
    path = directory / f"{entity}.yaml"
    path.write_text(json.dumps(_config(entity)))
    return XmlToArrowParser(path)


class FastPathError(ValueError):
    """xml2arrow refused the chunk (it gives no byte offset: the caller localises)."""


@functools.cache
def _attribute_columns(entity: str, table: str) -> tuple[str, ...]:
    spec = next(s for s in SPECS[entity] if s.name == table)
    return tuple(col for col, path, dtype in spec.fields if "@" in path and dtype == "Utf8")


def _nonempty(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Empty attributes → null, as xml2arrow already does for empty elements."""
    if not columns:
        return frame
    return frame.with_columns(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c)
                              for c in columns)


def _zero_ids(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.with_columns(pl.when(pl.col(c) != 0).then(pl.col(c)).alias(c) for c in columns)


class _Chunk:
    """The Arrow output of one chunk, with the record ids to join children back to."""

    def __init__(self, entity: str, data: bytes) -> None:
        root = entity.encode()
        try:
            batches = _parser(entity).parse(b"<" + root + b">" + data + b"</" + root + b">")
        except Exception as exc:  # xml2arrow raises several types (and TypeError on bad UTF-8)
            raise FastPathError(f"{type(exc).__name__}: {exc}") from None
        self.frames = {
            name: _nonempty(pl.from_arrow(batch), _attribute_columns(entity, name))  # type: ignore[arg-type]
            for name, batch in batches.items()}
        record = self.frames[SPECS[entity][0].name]
        ids = record["id"]
        if ids.null_count() or (ids == 0).any():
            raise FastPathError("a record has no id")
        self.ids = ids

    def child(self, name: str, parent_key: str, **extra: pl.Expr) -> pl.DataFrame:
        """Spec table ``name`` with the record id as ``parent_key`` and the last level as
        ``position``."""
        frame = self.frames[name]
        position = [c for c in frame.columns if c.startswith("<")][-1]
        return frame.with_columns(
            self.ids.gather(frame["<r>"]).alias(parent_key),
            pl.col(position).cast(pl.Int32).alias("position"),
            **extra,
        )


def _shape(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Select and cast to exactly the contract's columns and order."""
    spec = TABLES_BY_NAME[table]
    return frame.select(pl.col(c).cast(t) for c, t in spec.columns.items())


def _labels(c: _Chunk) -> dict[str, pl.DataFrame]:
    return {
        "label": _zero_ids(c.frames["label"], ["parent_label_id"]),
        "label_sublabel": _zero_ids(c.child("label_sublabel", "label_id"), ["ref_id"])
        .rename({"ref_id": "sublabel_id"}),
        "label_url": c.child("label_url", "label_id").rename({"value": "url"}),
    }


def _artists(c: _Chunk) -> dict[str, pl.DataFrame]:
    out = {"artist": c.frames["artist"],
           "artist_namevariation": c.child("artist_namevariation", "artist_id")
           .rename({"value": "name"}),
           "artist_url": c.child("artist_url", "artist_id").rename({"value": "url"})}
    for table, col in (("artist_alias", "alias_id"), ("artist_member", "member_id"),
                       ("artist_group", "group_id")):
        out[table] = _zero_ids(c.child(table, "artist_id"), ["ref_id"]).rename({"ref_id": col})
    return out


def _masters(c: _Chunk) -> dict[str, pl.DataFrame]:
    return {
        "master": _zero_ids(c.frames["master"], ["main_release_id"]),
        "master_artist": _zero_ids(c.child("master_artist", "master_id"), ["artist_id"]),
        "master_genre": c.child("master_genre", "master_id").rename({"value": "genre"}),
        "master_style": c.child("master_style", "master_id").rename({"value": "style"}),
        "master_video": c.child("master_video", "master_id"),
    }


def _track_key(sub: bool) -> pl.Expr:
    """One sortable integer per track: record, track, and sub-track + 1 (0 for the track
    itself), so that key order is document order within a chunk."""
    key = pl.col("<r>").cast(pl.UInt64) * (1 << 42) + pl.col("<t>").cast(pl.UInt64) * (1 << 21)
    return key + pl.col("<s>").cast(pl.UInt64) + 1 if sub else key


def _tracks(c: _Chunk) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Number headings and sub-tracks in document order; map track credits to those numbers.

    Sub-tracks directly follow their heading in key order, so a sub-track's parent is
    ``track_idx - <s> - 1``; credits find their track by binary search on the key."""
    tracks = (
        pl.concat([c.frames["track"].with_columns(key=_track_key(False)),
                   c.frames["subtrack"].with_columns(key=_track_key(True))],
                  how="diagonal_relaxed")
        .sort("key")
        .with_columns(track_idx=pl.int_range(pl.len(), dtype=pl.Int32).over("<r>"))
        .with_columns(parent_idx=pl.col("track_idx") - pl.col("<s>").cast(pl.Int32) - 1)
    )
    tracks = tracks.with_columns(release_id=c.ids.gather(tracks["<r>"]))
    credits = pl.concat(
        [c.child(table, "release_id", extra=pl.lit(extra)).with_columns(key=_track_key(sub))
         for table, extra, sub in (("track_artist", False, False),
                                   ("track_extraartist", True, False),
                                   ("subtrack_artist", False, True),
                                   ("subtrack_extraartist", True, True))],
        how="diagonal_relaxed")
    where = tracks["key"].search_sorted(credits["key"])
    credits = credits.with_columns(track_idx=tracks["track_idx"].gather(where))
    credits = credits.sort("key", "extra", "position")
    return tracks, _zero_ids(credits, ["artist_id"])


def _releases(c: _Chunk) -> dict[str, pl.DataFrame]:
    release = _zero_ids(c.frames["release"], ["master_id"]).with_columns(
        is_main_release=pl.when(pl.col("master_id").is_not_null())
        .then(pl.col("is_main_release")))
    artists = pl.concat([c.child("artist", "release_id", extra=pl.lit(False)),
                         c.child("extraartist", "release_id", extra=pl.lit(True))])
    descriptions = (c.frames["description"].group_by("<r>", "<i>", maintain_order=True)
                    .agg(descriptions=pl.col("value")))
    formats = c.child("format", "release_id").join(
        descriptions, on=["<r>", "<i>"], how="left", maintain_order="left")
    tracks, track_artists = _tracks(c)
    return {
        "release": release,
        "release_artist": _zero_ids(artists.sort("<r>", "extra", "position"), ["artist_id"]),
        "release_label": _zero_ids(c.child("label", "release_id"), ["label_id"]),
        "release_series": _zero_ids(c.child("series", "release_id"), ["series_id"]),
        "release_format": formats,
        "release_genre": c.child("genre", "release_id").rename({"value": "genre"}),
        "release_style": c.child("style", "release_id").rename({"value": "style"}),
        "release_track": tracks,
        "release_track_artist": track_artists,
        "release_identifier": c.child("identifier", "release_id"),
        "release_video": c.child("video", "release_id"),
        "release_company": _zero_ids(c.child("company", "release_id"), ["company_id"]),
    }


_BUILDERS = {"labels": _labels, "artists": _artists, "masters": _masters,
             "releases": _releases}


def extract_chunk(entity: str, data: bytes) -> dict[str, pl.DataFrame]:
    """Rows of every table of ``entity`` for the records in ``data`` (no root element).

    Raises ``FastPathError`` when xml2arrow refuses the input or a record has no id."""
    frames = _BUILDERS[entity](_Chunk(entity, data))
    return {t.name: _shape(t.name, frames[t.name]) for t in tables_for(entity)}
