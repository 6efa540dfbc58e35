"""Strict validation of dump file names and listing keys.

Names come from the network (listings, CHECKSUM files), so nothing touches the disk unless it is
exactly ``discogs_YYYYMMDD_<entity>.xml.gz`` or ``discogs_YYYYMMDD_CHECKSUM.txt`` with a real
calendar date: no separators, no ``..``, no other names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from discogs_assets.lib.entities import ENTITIES
from discogs_assets.lib.errors import NonRetryableError

CHECKSUM = "CHECKSUM"
KINDS: tuple[str, ...] = (*ENTITIES, CHECKSUM)

# [0-9] rather than \d: \d also matches non-ASCII digits. Used with fullmatch (no "$\n" loophole).
_NAME_RE = re.compile(
    r"discogs_([0-9]{8})_(?:(" + "|".join(ENTITIES) + r")\.xml\.gz|(CHECKSUM)\.txt)", re.ASCII
)
_KEY_RE = re.compile(r"data/([0-9]{4})/([^/]+)", re.ASCII)


class InvalidDumpName(NonRetryableError):
    """A listing or CHECKSUM named something that is not a Discogs dump file."""


@dataclass(frozen=True)
class DumpName:
    name: str
    date: str  # YYYYMMDD
    kind: str  # an entity or "CHECKSUM"

    @property
    def month(self) -> str:
        return f"{self.date[:4]}-{self.date[4:6]}"


def parse_dump_name(name: str) -> DumpName:
    """Return the parts of a valid dump file name; raise InvalidDumpName otherwise."""
    m = _NAME_RE.fullmatch(name)
    if not m:
        raise InvalidDumpName(
            f"not a Discogs dump file name: {name[:120]!r} (expected discogs_YYYYMMDD_"
            f"<{'|'.join(ENTITIES)}>.xml.gz or discogs_YYYYMMDD_CHECKSUM.txt)"
        )
    day = m.group(1)
    try:
        date(int(day[:4]), int(day[4:6]), int(day[6:]))
    except ValueError:
        raise InvalidDumpName(f"dump file name {name!r} has an impossible date {day}") from None
    return DumpName(name, day, m.group(2) or m.group(3))


def is_dump_name(name: str) -> bool:
    try:
        parse_dump_name(name)
    except InvalidDumpName:
        return False
    return True


def parse_key(key: str) -> DumpName:
    """Validate a listing key ``data/YYYY/<name>``: the year folder must match the name's date."""
    m = _KEY_RE.fullmatch(key)
    if not m:
        raise InvalidDumpName(f"not a dump key (expected data/YYYY/<file>): {key[:160]!r}")
    parsed = parse_dump_name(m.group(2))
    if parsed.date[:4] != m.group(1):
        raise InvalidDumpName(f"dump key {key!r} sits in the wrong year folder")
    return parsed


def key_for(name: str) -> str:
    """The listing key of a dump file: ``data/YYYY/<name>``."""
    return f"data/{parse_dump_name(name).date[:4]}/{name}"
