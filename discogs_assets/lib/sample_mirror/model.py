"""Plain records of the synthetic catalogue, shaped like the 2026 dump elements.

``None`` (or an empty tuple) means "element absent": the 2026 dumps omit empty elements, so the
XML writer leaves them out. Monthly edits go through ``dataclasses.replace``, never mutation;
the classes are not frozen only because frozen dataclasses are about twice as slow to build.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Ref:
    """A link to another record by id with its display name (``<name id="..">`` and friends).

    ``name`` is None for label 212, which has no name in the real dumps.
    """

    id: int
    name: str | None


@dataclass(slots=True)
class Credit:
    """An ``<artist>`` credit; ``id`` None is an unlinked credit (no ``<id>`` since 2026)."""

    id: int | None
    name: str
    anv: str | None = None
    join: str | None = None
    role: str | None = None
    tracks: str | None = None


@dataclass(slots=True)
class Track:
    """A tracklist entry; a heading track has no position and carries ``sub_tracks``."""

    position: str | None
    title: str
    duration: str | None = None
    artists: tuple[Credit, ...] = ()
    extraartists: tuple[Credit, ...] = ()
    sub_tracks: tuple[Track, ...] = ()


@dataclass(slots=True)
class LabelRef:
    """``<label name catno id/>`` in a release's ``<labels>``; ``<series ../>`` in ``<series>``."""

    id: int
    name: str
    catno: str


@dataclass(slots=True)
class Format:
    name: str
    qty: str  # text: real quantities exceed 64 bits
    text: str
    descriptions: tuple[str, ...] = ()


@dataclass(slots=True)
class Video:
    src: str
    duration: int
    title: str
    description: str | None = None
    embed: bool = True


@dataclass(slots=True)
class Identifier:
    type: str
    value: str
    description: str | None = None


@dataclass(slots=True)
class Company:
    id: int
    name: str
    entity_type: int
    entity_type_name: str
    catno: str | None = None

    @property
    def resource_url(self) -> str:
        return f"https://api.discogs.com/labels/{self.id}"


@dataclass(slots=True)
class Label:
    id: int
    name: str | None
    data_quality: str
    contactinfo: str | None = None
    profile: str | None = None
    parent: Ref | None = None
    urls: tuple[str, ...] = ()
    sublabels: tuple[Ref, ...] = ()


@dataclass(slots=True)
class Artist:
    id: int
    name: str
    data_quality: str
    realname: str | None = None
    profile: str | None = None
    urls: tuple[str, ...] = ()
    namevariations: tuple[str, ...] = ()
    aliases: tuple[Ref, ...] = ()
    members: tuple[Ref, ...] = ()
    groups: tuple[Ref, ...] = ()


@dataclass(slots=True)
class Master:
    id: int
    main_release: int
    title: str
    data_quality: str
    artists: tuple[Credit, ...] = ()
    genres: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    year: int | None = None
    notes: str | None = None
    videos: tuple[Video, ...] = ()


@dataclass(slots=True)
class Release:
    id: int
    title: str
    data_quality: str
    master_id: int  # 0 = no master (2026 format always writes the element)
    is_main_release: bool
    artists: tuple[Credit, ...] = ()
    labels: tuple[LabelRef, ...] = ()
    series: tuple[LabelRef, ...] = ()
    extraartists: tuple[Credit, ...] = ()
    formats: tuple[Format, ...] = ()
    genres: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    country: str | None = None
    released: str | None = None
    notes: str | None = None
    tracklist: tuple[Track, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    videos: tuple[Video, ...] = ()
    companies: tuple[Company, ...] = ()


Record = Label | Artist | Master | Release
