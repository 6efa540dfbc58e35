"""The parsed-table contract: every table, its columns and types, its entity and its keys.

Parsers write exactly these columns (Parquet, one file per table per month); the warehouse
creates and loads tables of the same names; the cache builder reads them. Identifiers used in
SQL come only from here (never from input data).

Types are named here and rendered on demand as polars dtypes (``columns``, ``schema``) or as the
Arrow schema of the Parquet files (``arrow_schema``), so importing the contract costs neither
library (the parser runs without polars).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from discogs_assets.lib.entities import ENTITIES as ENTITIES
from discogs_assets.lib.entities import ENTITY_ROOT_TABLE as ENTITY_ROOT_TABLE

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

Str = "Utf8"
I64 = "Int64"
I32 = "Int32"
Bool = "Boolean"
StrList = "List[Utf8]"


def _polars_type(name: str) -> pl.DataType:
    import polars as pl

    if name == StrList:
        return pl.List(pl.Utf8)
    return getattr(pl, name)()


def _arrow_type(name: str) -> pa.DataType:
    """What the parser writes (xml2arrow's own types: no cast); polars reads it as ``name``."""
    import pyarrow as pa

    return {Str: pa.string(), I64: pa.int64(), I32: pa.int32(), Bool: pa.bool_(),
            StrList: pa.list_(pa.string())}[name]


@dataclass(frozen=True)
class TableSpec:
    """One parsed table.

    ``parent_key`` is the column holding the owning record's id (``id`` for the root table).
    ``unique_key`` is what must be unique within a month's output.
    """

    name: str
    entity: str
    parent_key: str
    unique_key: tuple[str, ...]
    types: dict[str, str]  # column → type name (Str, I64, …)

    @property
    def is_root(self) -> bool:
        return self.parent_key == "id"

    @functools.cached_property
    def columns(self) -> dict[str, pl.DataType]:
        return {column: _polars_type(t) for column, t in self.types.items()}

    @property
    def schema(self) -> pl.Schema:
        import polars as pl

        return pl.Schema(self.columns)

    @functools.cached_property
    def arrow_schema(self) -> pa.Schema:
        import pyarrow as pa

        return pa.schema([(column, _arrow_type(t)) for column, t in self.types.items()])


def _t(table: str, entity: str, parent_key: str, unique_key: tuple[str, ...], /,
       **cols: str) -> TableSpec:
    return TableSpec(table, entity, parent_key, unique_key, dict(cols))


_CREDIT = {"artist_id": I64, "name": Str, "anv": Str, "join": Str, "role": Str}
_VIDEO = {"src": Str, "duration": I32, "embed": Bool, "title": Str, "description": Str}

TABLES: tuple[TableSpec, ...] = (
    # labels
    _t("label", "labels", "id", ("id",), id=I64, name=Str, contact_info=Str, profile=Str,
       data_quality=Str, parent_label_id=I64, parent_label_name=Str),
    _t("label_sublabel", "labels", "label_id", ("label_id", "position"), label_id=I64,
       position=I32, sublabel_id=I64, name=Str),
    _t("label_url", "labels", "label_id", ("label_id", "position"), label_id=I64, position=I32,
       url=Str),
    # artists
    _t("artist", "artists", "id", ("id",), id=I64, name=Str, realname=Str, profile=Str,
       data_quality=Str),
    _t("artist_alias", "artists", "artist_id", ("artist_id", "position"), artist_id=I64,
       position=I32, alias_id=I64, name=Str),
    _t("artist_namevariation", "artists", "artist_id", ("artist_id", "position"), artist_id=I64,
       position=I32, name=Str),
    _t("artist_member", "artists", "artist_id", ("artist_id", "position"), artist_id=I64,
       position=I32, member_id=I64, name=Str),
    _t("artist_group", "artists", "artist_id", ("artist_id", "position"), artist_id=I64,
       position=I32, group_id=I64, name=Str),
    _t("artist_url", "artists", "artist_id", ("artist_id", "position"), artist_id=I64,
       position=I32, url=Str),
    # masters
    _t("master", "masters", "id", ("id",), id=I64, title=Str, year=I32, main_release_id=I64,
       notes=Str, data_quality=Str),
    _t("master_artist", "masters", "master_id", ("master_id", "position"), master_id=I64,
       position=I32, **_CREDIT),
    _t("master_genre", "masters", "master_id", ("master_id", "position"), master_id=I64,
       position=I32, genre=Str),
    _t("master_style", "masters", "master_id", ("master_id", "position"), master_id=I64,
       position=I32, style=Str),
    _t("master_video", "masters", "master_id", ("master_id", "position"), master_id=I64,
       position=I32, **_VIDEO),
    # releases
    _t("release", "releases", "id", ("id",), id=I64, status=Str, title=Str, country=Str,
       released=Str, notes=Str, data_quality=Str, master_id=I64, is_main_release=Bool),
    _t("release_artist", "releases", "release_id", ("release_id", "extra", "position"),
       release_id=I64, position=I32, extra=Bool, **_CREDIT, tracks=Str),
    _t("release_label", "releases", "release_id", ("release_id", "position"), release_id=I64,
       position=I32, label_id=I64, name=Str, catno=Str),
    _t("release_series", "releases", "release_id", ("release_id", "position"), release_id=I64,
       position=I32, series_id=I64, name=Str, catno=Str),
    # qty is text: real dumps hold quantities beyond 64 bits and they must survive exactly.
    _t("release_format", "releases", "release_id", ("release_id", "position"), release_id=I64,
       position=I32, name=Str, qty=Str, text=Str, descriptions=StrList),
    _t("release_genre", "releases", "release_id", ("release_id", "position"), release_id=I64,
       position=I32, genre=Str),
    _t("release_style", "releases", "release_id", ("release_id", "position"), release_id=I64,
       position=I32, style=Str),
    _t("release_track", "releases", "release_id", ("release_id", "track_idx"), release_id=I64,
       track_idx=I32, parent_idx=I32, position=Str, title=Str, duration=Str),
    _t("release_track_artist", "releases", "release_id",
       ("release_id", "track_idx", "extra", "position"), release_id=I64, track_idx=I32,
       position=I32, extra=Bool, **_CREDIT),
    _t("release_identifier", "releases", "release_id", ("release_id", "position"),
       release_id=I64, position=I32, type=Str, value=Str, description=Str),
    _t("release_video", "releases", "release_id", ("release_id", "position"), release_id=I64,
       position=I32, **_VIDEO),
    _t("release_company", "releases", "release_id", ("release_id", "position"), release_id=I64,
       position=I32, company_id=I64, name=Str, catno=Str, entity_type=I32, entity_type_name=Str,
       resource_url=Str),
)

TABLES_BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}


def tables_for(entity: str) -> tuple[TableSpec, ...]:
    """The tables one dump kind produces, root table first."""
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}; expected one of {', '.join(ENTITIES)}")
    return tuple(t for t in TABLES if t.entity == entity)


def empty_frame(table: str) -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame(schema=TABLES_BY_NAME[table].schema)
