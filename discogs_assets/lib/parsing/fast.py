"""The fast path: xml2arrow (Rust, GIL released) parses a chunk into Arrow arrays, and
pyarrow.compute joins the per-level indexes back to record ids and shapes the contract tables
(no DataFrame library in between: Arrow is what gets written).

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

import pyarrow as pa
import pyarrow.compute as pc
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
    # Names are matched as written (no namespace stripping: dumps use no prefixes, the reference
    # does not strip them either, and skipping the scan of every name is a few % faster).
    return {"parser_options": {"trim_text": False, "strip_namespaces": False},
            "tables": tables}


@functools.cache
def _parser(entity: str) -> XmlToArrowParser:
    """One compiled parser per entity and process (YAML is a superset of JSON). The parser
    reads its config file once, when built: the file is removed right after, so step processes
    leave nothing behind in the temporary directory."""
    with tempfile.TemporaryDirectory(prefix="discogs-xml2arrow-") as directory:
        path = Path(directory) / f"{entity}.yaml"
        path.write_text(json.dumps(_config(entity)))
        return XmlToArrowParser(path)


class FastPathError(ValueError):
    """xml2arrow refused the chunk (it gives no byte offset: the caller localises)."""


Columns = dict[str, pa.Array]


def _null_where(values: pa.Array, mask: pa.Array) -> pa.Array:
    return pc.if_else(mask, pa.scalar(None, values.type), values)


def _nonempty(values: pa.Array) -> pa.Array:
    """Empty attributes → null, as xml2arrow already does for empty elements."""
    return _null_where(values, pc.equal(values, ""))


def _nonzero(values: pa.Array) -> pa.Array:
    """Id ``0`` (the old "no such entity" sentinel) → null."""
    return _null_where(values, pc.equal(values, 0))


def _repeat(value: object, length: int, type_: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, type_), length)


def _run_starts(run_ends: pa.Array) -> pa.Array:
    """Where each run starts, given where each ends (0 for the first)."""
    return pa.concat_arrays([pa.array([0], run_ends.type), run_ends]).slice(0, len(run_ends))


def _ordinal(groups: pa.Array) -> pa.Array:
    """0, 1, 2, … within each run of equal values of ``groups`` (int32)."""
    rows = pc.subtract(pc.cumulative_sum(_repeat(1, len(groups), pa.int32())), 1)
    ends = pc.run_end_encode(groups, run_end_type=pa.int32()).run_ends
    first_row = pc.run_end_decode(pa.RunEndEncodedArray.from_arrays(ends, _run_starts(ends)))
    return pc.subtract(rows, first_row)


def _key(*levels: pa.Array, shift: int) -> pa.Array:
    """One sortable uint64 per row from its level indexes (``shift`` bits per level)."""
    key = pc.cast(levels[0], pa.uint64())
    for level in levels[1:]:
        key = pc.add(pc.shift_left(key, shift), pc.cast(level, pa.uint64()))
    return key


def _sorted(columns: Columns, by: str) -> Columns:
    """Rows in ``by`` order; equal keys keep their order (Arrow's sort is stable)."""
    order = pc.sort_indices(columns[by])
    return {name: values.take(order) for name, values in columns.items()}


def _concat(*parts: Columns) -> Columns:
    return {name: pa.concat_arrays([p[name] for p in parts]) for name in parts[0]}


class _Chunk:
    """The Arrow output of one chunk, with the record ids to join children back to."""

    def __init__(self, entity: str, data: bytes) -> None:
        root = entity.encode()
        try:
            self.batches = _parser(entity).parse(b"<" + root + b">" + data + b"</" + root + b">")
        except Exception as exc:  # xml2arrow raises several types (and TypeError on bad UTF-8)
            raise FastPathError(f"{type(exc).__name__}: {exc}") from None
        self.specs = {spec.name: spec for spec in SPECS[entity]}
        ids = self.batches[SPECS[entity][0].name].column("id")
        if ids.null_count or pc.any(pc.equal(ids, 0)).as_py():
            raise FastPathError("a record has no id")
        self.ids = ids

    def fields(self, name: str) -> Columns:
        """Spec table ``name``'s fields, empty attribute values as null."""
        batch = self.batches[name]
        return {col: _nonempty(batch.column(col)) if "@" in path and dtype == "Utf8"
                else batch.column(col) for col, path, dtype in self.specs[name].fields}

    def child(self, name: str, parent_key: str) -> Columns:
        """Spec table ``name`` with the record id as ``parent_key`` and the last level as
        ``position`` (and the record level ``<r>`` kept for sorting)."""
        batch = self.batches[name]
        record = batch.column("<r>")
        last_level = f"<{self.specs[name].levels[-1]}>"
        return {"<r>": record, parent_key: self.ids.take(record),
                "position": pc.cast(batch.column(last_level), pa.int32()), **self.fields(name)}

    def texts(self, name: str, parent_key: str, column: str) -> Columns:
        """A list of strings: empty elements are skipped and positions count the kept ones."""
        batch = self.batches[name]
        values, record = batch.column("value"), batch.column("<r>")
        if values.null_count:
            kept = pc.is_valid(values)
            values, record = values.filter(kept), record.filter(kept)
        return {parent_key: self.ids.take(record), "position": _ordinal(record), column: values}

    def credits(self, name: str, parent_key: str, **flags: bool) -> Columns:
        columns = self.child(name, parent_key)
        columns["artist_id"] = _nonzero(columns["artist_id"])
        length = len(columns["<r>"])
        return columns | {flag: _repeat(value, length, pa.bool_()) for flag, value in flags.items()}

    def named_ids(self, name: str, parent_key: str, id_column: str) -> Columns:
        columns = self.child(name, parent_key)
        columns[id_column] = _nonzero(columns.pop("ref_id"))
        return columns


def _labels(c: _Chunk) -> dict[str, Columns]:
    label = c.fields("label")
    label["parent_label_id"] = _nonzero(label["parent_label_id"])
    return {"label": label,
            "label_sublabel": c.named_ids("label_sublabel", "label_id", "sublabel_id"),
            "label_url": c.texts("label_url", "label_id", "url")}


def _artists(c: _Chunk) -> dict[str, Columns]:
    return {"artist": c.fields("artist"),
            "artist_alias": c.named_ids("artist_alias", "artist_id", "alias_id"),
            "artist_namevariation": c.texts("artist_namevariation", "artist_id", "name"),
            "artist_member": c.named_ids("artist_member", "artist_id", "member_id"),
            "artist_group": c.named_ids("artist_group", "artist_id", "group_id"),
            "artist_url": c.texts("artist_url", "artist_id", "url")}


def _masters(c: _Chunk) -> dict[str, Columns]:
    master = c.fields("master")
    master["main_release_id"] = _nonzero(master["main_release_id"])
    return {"master": master,
            "master_artist": c.credits("master_artist", "master_id"),
            "master_genre": c.texts("master_genre", "master_id", "genre"),
            "master_style": c.texts("master_style", "master_id", "style"),
            "master_video": c.child("master_video", "master_id")}


_TRACK_BITS = 21  # bits per level in a track key: tracks and sub-tracks per level < 2**21


def _track_key(batch: pa.RecordBatch, sub: bool) -> pa.Array:
    """One sortable integer per track: record, track, and sub-track + 1 (0 for the track
    itself), so that key order is document order within a chunk."""
    track = _key(batch.column("<r>"), batch.column("<t>"), shift=_TRACK_BITS)
    key = pc.shift_left(track, _TRACK_BITS)
    return pc.add(key, pc.add(pc.cast(batch.column("<s>"), pa.uint64()), 1)) if sub else key


def _tracks(c: _Chunk) -> tuple[Columns, Columns]:
    """Number headings and sub-tracks in document order; map track credits to those numbers.

    Sub-tracks directly follow their heading in key order, so a sub-track's parent is
    ``track_idx - <s> - 1``; credits find their track by its key."""
    parts = []
    for name, sub in (("track", False), ("subtrack", True)):
        batch = c.batches[name]
        parts.append({"<r>": batch.column("<r>"), "key": _track_key(batch, sub),
                      "<s>": batch.column("<s>") if sub
                      else pa.nulls(batch.num_rows, pa.uint32()),
                      **c.fields(name)})
    tracks = _sorted(_concat(*parts), "key")
    track_idx = _ordinal(tracks["<r>"])
    tracks |= {"release_id": c.ids.take(tracks["<r>"]), "track_idx": track_idx,
               "parent_idx": pc.subtract(track_idx,
                                         pc.add(pc.cast(tracks["<s>"], pa.int32()), 1))}
    credits = _concat(*(
        c.credits(name, "release_id", extra=extra) | {"key": _track_key(c.batches[name], sub)}
        for name, extra, sub in (("track_artist", False, False),
                                 ("track_extraartist", True, False),
                                 ("subtrack_artist", False, True),
                                 ("subtrack_extraartist", True, True))))
    credits = _sorted(credits, "key")  # a track's artists, then its extra artists
    where = pc.index_in(credits["key"], value_set=tracks["key"])
    if where.null_count:
        raise FastPathError("a track credit outside any track")
    credits["track_idx"] = track_idx.take(where)
    return tracks, credits


def _descriptions(c: _Chunk) -> pa.Array:
    """Each format's ``<description>`` texts as a list (null when it has none)."""
    formats, descriptions = c.batches["format"], c.batches["description"]
    owner = _key(descriptions.column("<r>"), descriptions.column("<i>"), shift=32)
    runs = pc.run_end_encode(owner, run_end_type=pa.int32())
    ends = runs.run_ends
    lengths = pc.subtract(ends, _run_starts(ends))
    found = pc.index_in(_key(formats.column("<r>"), formats.column("<i>"), shift=32),
                        value_set=runs.values)
    counts = pc.fill_null(lengths.take(found), 0)
    if (pc.sum(counts).as_py() or 0) != len(owner):
        raise FastPathError("a format description outside any format")
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(counts)])
    return pa.ListArray.from_arrays(offsets, descriptions.column("value"),
                                    mask=pc.equal(counts, 0))


def _releases(c: _Chunk) -> dict[str, Columns]:
    release = c.fields("release")
    release["master_id"] = _nonzero(release["master_id"])
    release["is_main_release"] = _null_where(release["is_main_release"],
                                             pc.is_null(release["master_id"]))
    artists = _concat(c.credits("artist", "release_id", extra=False),
                      c.credits("extraartist", "release_id", extra=True))
    tracks, track_artists = _tracks(c)
    label = c.child("label", "release_id")
    label["label_id"] = _nonzero(label["label_id"])
    series = c.child("series", "release_id")
    series["series_id"] = _nonzero(series["series_id"])
    company = c.child("company", "release_id")
    company["company_id"] = _nonzero(company["company_id"])
    return {
        "release": release,
        "release_artist": _sorted(artists, "<r>"),  # a release's artists, then extra ones
        "release_label": label,
        "release_series": series,
        "release_format": c.child("format", "release_id") | {"descriptions": _descriptions(c)},
        "release_genre": c.texts("genre", "release_id", "genre"),
        "release_style": c.texts("style", "release_id", "style"),
        "release_track": tracks,
        "release_track_artist": track_artists,
        "release_identifier": c.child("identifier", "release_id"),
        "release_video": c.child("video", "release_id"),
        "release_company": company,
    }


_BUILDERS = {"labels": _labels, "artists": _artists, "masters": _masters,
             "releases": _releases}


def _table(name: str, columns: Columns) -> pa.Table:
    """Exactly the contract's columns and order (a type that differs is an error)."""
    schema = TABLES_BY_NAME[name].arrow_schema
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def extract_chunk(entity: str, data: bytes) -> dict[str, pa.Table]:
    """Rows of every table of ``entity`` for the records in ``data`` (no root element).

    Raises ``FastPathError`` when xml2arrow refuses the input or a record has no id."""
    columns = _BUILDERS[entity](_Chunk(entity, data))
    return {t.name: _table(t.name, columns[t.name]) for t in tables_for(entity)}
