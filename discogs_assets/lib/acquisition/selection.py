"""Pick a month's dump from listed files.

Files sharing a date form one dump. The CHECKSUM file is written last, so it is the "dump
complete" marker: the latest dump of the month that has a CHECKSUM and at least one data file
wins (20191003 has no CHECKSUM, 20191010 has one: 20191010 wins). A month without such a dump is
"not published" (no files at all) or "incomplete"; an operator may accept the latest dump without
a CHECKSUM explicitly, in which case it is verified by listed size only and flagged unverified.
Data kinds a chosen dump lacks (old dumps had no masters; 20191010 has no releases) are reported
in ``missing_kinds`` so the other files can still be downloaded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from discogs_assets.lib.acquisition.listing import DumpFile
from discogs_assets.lib.acquisition.names import CHECKSUM
from discogs_assets.lib.entities import ENTITIES
from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.layout import check_month


class DumpNotPublished(NonRetryableError):
    """No file of any dump is listed for the month."""


class DumpIncomplete(NonRetryableError):
    """Files are listed for the month but no dump is complete (no CHECKSUM, or nothing else)."""


@dataclass(frozen=True)
class MonthDump:
    month: str  # YYYY-MM partition key
    date: str  # YYYYMMDD of the chosen dump
    files: dict[str, DumpFile]  # kind -> file (entities and "CHECKSUM")
    verified: bool  # False when accepted without a CHECKSUM
    other_dates: tuple[str, ...] = ()  # other dumps listed in the month, not chosen

    @property
    def checksum_file(self) -> DumpFile | None:
        return self.files.get(CHECKSUM)

    @property
    def missing_kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind in ENTITIES if kind not in self.files)

    def total_size(self, kinds: Iterable[str] | None = None) -> int:
        """Listed bytes of the given kinds (default: every file), for the free-space check."""
        wanted = set(self.files) if kinds is None else set(kinds)
        return sum(f.size for kind, f in self.files.items() if kind in wanted)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, so later steps can reuse a listing instead of asking the host again."""
        files = {
            kind: {**asdict(f), "last_modified": f.last_modified and f.last_modified.isoformat()}
            for kind, f in self.files.items()
        }
        return {
            "month": self.month,
            "date": self.date,
            "files": files,
            "verified": self.verified,
            "other_dates": list(self.other_dates),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonthDump:
        """Inverse of ``to_dict``; names and keys are validated again."""
        files: dict[str, DumpFile] = {}
        for kind, raw in data["files"].items():
            modified = raw.get("last_modified")
            f = DumpFile(**{**raw, "last_modified": modified and datetime.fromisoformat(modified)})
            if f.kind != kind or f.date != data["date"]:
                raise ValueError(f"inconsistent dump file entry for {kind}: {raw!r}")
            files[kind] = f
        return cls(
            data["month"],
            data["date"],
            files,
            bool(data["verified"]),
            tuple(data.get("other_dates", ())),
        )


def _describe(files: dict[str, DumpFile]) -> str:
    return ", ".join(sorted(f.name for f in files.values()))


def select_month(
    files: Iterable[DumpFile], month: str, *, accept_unverified: bool = False
) -> MonthDump:
    """Choose the dump for partition ``month`` (``YYYY-MM``), whatever day it is dated."""
    prefix = check_month(month).replace("-", "")
    dumps: dict[str, dict[str, DumpFile]] = defaultdict(dict)
    for f in files:
        if f.date.startswith(prefix):
            dumps[f.date][f.kind] = f
    if not dumps:
        raise DumpNotPublished(f"no dump published for {month}")
    with_data = [d for d in sorted(dumps) if any(k in dumps[d] for k in ENTITIES)]
    complete = [d for d in with_data if CHECKSUM in dumps[d]]
    if complete:
        chosen, verified = complete[-1], True
    elif not with_data:
        dates = ", ".join(sorted(dumps))
        raise DumpIncomplete(
            f"dump for {month} is incomplete: CHECKSUM published but no data files (dated {dates})"
        )
    elif accept_unverified:
        chosen, verified = with_data[-1], False
    else:
        latest = with_data[-1]
        raise DumpIncomplete(
            f"dump for {month} is incomplete: CHECKSUM not yet published "
            f"(dump {latest} lists {_describe(dumps[latest])})"
        )
    others = tuple(d for d in sorted(dumps) if d != chosen)
    return MonthDump(month, chosen, dict(dumps[chosen]), verified, others)
