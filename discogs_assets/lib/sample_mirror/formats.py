"""The dump layouts the sample mirror writes: how the Discogs XML drifted from 2008 to 2026.

Three presets, each a snapshot of one era (DESIGN §3 lists the drift):

- ``2008``: no masters file (masters were first published in 20111110); records without a
  root element, as importers of the time had to repair; raw control characters and mojibake
  in free text; no ``<master_id>``; no ``<sub_tracks>`` (a heading's sub-tracks follow it as
  plain tracks); ``<images>``, ``release@status``, ``<id>0</id>`` for unlinked credits, empty
  elements written out, ``<members>`` as ``<id>``/``<name id>`` pairs.
- ``2020``: as the real 2020-08-06 samples: root elements, masters, ``<master_id
  is_main_release>`` only for releases that have a master, ``<sub_tracks>``, non-ASCII text
  as numeric character references, and the 2008 traits from ``<images>`` on.
- ``2026``: the current layout: no images, no status, empty elements omitted, unlinked
  credits without ``<id>``, ``<master_id>`` always present (0 = none), ``<members>`` as
  ``<name id>`` only, UTF-8 text.

``format_for(day)`` picks the preset of the era a dump date belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class DumpFormat:
    name: str
    masters_file: bool  # a masters dump is published
    root_element: bool  # records wrapped in <labels>...</labels> (old dumps had none)
    control_chars: bool  # raw control characters and mojibake in some free text
    images: bool  # <images> in every record kind
    release_status: bool  # <release status="Accepted">
    master_id: str  # "none" (never written), "linked" (only with a master), "always" (0 = none)
    is_main_release: bool  # the attribute on <master_id>
    unlinked_id_zero: bool  # unlinked credits carry <id>0</id>
    empty_elements: bool  # empty fields and lists written as <tag/>
    member_ids: bool  # <members> repeats each member's <id> before its <name id>
    sub_tracks: bool  # headings hold <sub_tracks>
    char_refs: bool  # non-ASCII characters as &#NNN; references


FORMATS: dict[str, DumpFormat] = {
    "2008": DumpFormat("2008", masters_file=False, root_element=False, control_chars=True,
                       images=True, release_status=True, master_id="none",
                       is_main_release=False, unlinked_id_zero=True, empty_elements=True,
                       member_ids=True, sub_tracks=False, char_refs=False),
    "2020": DumpFormat("2020", masters_file=True, root_element=True, control_chars=False,
                       images=True, release_status=True, master_id="linked",
                       is_main_release=True, unlinked_id_zero=True, empty_elements=True,
                       member_ids=True, sub_tracks=True, char_refs=True),
    "2026": DumpFormat("2026", masters_file=True, root_element=True, control_chars=False,
                       images=False, release_status=False, master_id="always",
                       is_main_release=True, unlinked_id_zero=False, empty_elements=False,
                       member_ids=False, sub_tracks=True, char_refs=False),
}
AUTO = "auto"
MASTERS_SINCE = date(2011, 11, 1)  # the first masters file: 20111110
IMAGES_UNTIL = date(2024, 12, 1)  # <images> gone since 20241201


def format_for(day: date) -> DumpFormat:
    """The preset of the era ``day`` (a dump date) belongs to."""
    if day < MASTERS_SINCE:
        return FORMATS["2008"]
    if day < IMAGES_UNTIL:
        return FORMATS["2020"]
    return FORMATS["2026"]


def resolve_format(name: str, day: date) -> DumpFormat:
    """``auto`` or a preset name -> the format for a dump dated ``day``."""
    if name == AUTO:
        return format_for(day)
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown dump format {name!r}: use {AUTO} or one of "
                         f"{', '.join(FORMATS)}") from None
