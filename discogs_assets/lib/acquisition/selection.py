"""Pick a month's files from listed dumps: every dump layout published since 2008.

Files sharing a date form one dump. The CHECKSUM file is written last, so a dump with a CHECKSUM
is complete. A month may hold several dumps and spread its file kinds across them (2011-02:
artists and labels only in 20110201, releases only in 20110211, each dump with its own
CHECKSUM), so the choice is made **per kind**:

- each kind comes from the latest complete dump of the month that lists it (two complete dumps
  with every kind, 20171201 and 20171212: 20171212 wins for all);
- each chosen file is verified against its **own** dump's CHECKSUM (a month may need several);
- a kind listed only in dumps without a CHECKSUM (2019-10: masters and releases only in
  20191003) is taken from the latest such dump only when the operator accepts unverified files
  explicitly (verified by listed size only); otherwise it is reported in ``without_checksum``
  and its step fails with the way out;
- a kind no dump of the month lists (masters before 2011-11; labels and artists in 2013-01) is
  ``missing``: the month is complete without it and the warehouse keeps that kind's state;
- ``dump_dates`` (kind -> YYYYMMDD) overrides the choice for one run (2013-01: the 20130103
  releases file is 10 MB, the 20130101 one 1.8 GB).

A month without any file is "not published"; one whose dumps give no data file at all (only a
CHECKSUM, or data without any CHECKSUM) is "incomplete". Neither is retried.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
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
    """Files are listed for the month but no data file can be taken (no CHECKSUM, or nothing
    but a CHECKSUM)."""


class DumpOverrideError(NonRetryableError):
    """A ``dump_dates`` override names a kind or dump the month does not list."""


def file_to_dict(f: DumpFile) -> dict[str, Any]:
    """A listed file as JSON-ready values (``file_from_dict`` validates it again)."""
    return {**asdict(f), "last_modified": f.last_modified and f.last_modified.isoformat()}


def file_from_dict(raw: Mapping[str, Any]) -> DumpFile:
    modified = raw.get("last_modified")
    return DumpFile(**{**raw, "last_modified": modified and datetime.fromisoformat(modified)})


@dataclass(frozen=True)
class MonthDump:
    """The files a month resolved to, each from the dump it was chosen from."""

    month: str  # YYYY-MM partition key
    files: dict[str, DumpFile]  # entity -> chosen file (dates may differ between kinds)
    checksums: dict[str, DumpFile]  # dump date -> its CHECKSUM, for every dump files come from
    without_checksum: dict[str, str] = field(default_factory=dict)
    """entity -> date of the latest dump listing it without a CHECKSUM, when not taken."""
    other_dates: tuple[str, ...] = ()  # dumps listed in the month that give no chosen file

    @property
    def dates(self) -> tuple[str, ...]:
        """The dumps the chosen files come from, oldest first."""
        return tuple(sorted({f.date for f in self.files.values()}))

    @property
    def date(self) -> str:
        """The month's dump date: the newest dump a chosen file comes from."""
        return self.dates[-1]

    @property
    def checksum_file(self) -> DumpFile | None:
        """The CHECKSUM of the newest dump used (the new-dump sensor's marker)."""
        return self.checksums.get(self.date)

    def checksum_of(self, kind: str) -> DumpFile | None:
        """The CHECKSUM ``kind``'s file is verified against (None: accepted unverified)."""
        return self.checksums.get(self.files[kind].date)

    @property
    def verified(self) -> bool:
        return all(f.date in self.checksums for f in self.files.values())

    @property
    def unverified_kinds(self) -> tuple[str, ...]:
        return tuple(k for k in ENTITIES if k in self.files and self.checksum_of(k) is None)

    @property
    def missing_kinds(self) -> tuple[str, ...]:
        """Kinds no dump of the month lists: the month is complete without them."""
        return tuple(k for k in ENTITIES
                     if k not in self.files and k not in self.without_checksum)

    def total_size(self, kinds: Iterable[str] | None = None) -> int:
        """Listed bytes of the given data kinds (default: all), for the free-space check."""
        wanted = set(self.files) if kinds is None else set(kinds)
        return sum(f.size for kind, f in self.files.items() if kind in wanted)

    def describe(self) -> str:
        """One line: which file comes from which dump, and what is left out."""
        parts = [f"{k}={self.files[k].date}{'' if self.checksum_of(k) else ' (unverified)'}"
                 for k in ENTITIES if k in self.files]
        parts += [f"{k}=only in {d} without CHECKSUM" for k, d in self.without_checksum.items()]
        parts += [f"{k}=not published" for k in self.missing_kinds]
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, so later steps can reuse a listing instead of asking the host again."""
        return {
            "month": self.month,
            "files": {kind: file_to_dict(f) for kind, f in self.files.items()},
            "checksums": {day: file_to_dict(f) for day, f in self.checksums.items()},
            "without_checksum": dict(self.without_checksum),
            "other_dates": list(self.other_dates),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MonthDump:
        """Inverse of ``to_dict``; names, keys, kinds and dates are validated again. Reads the
        one-dump form written before months could merge dumps (the CHECKSUM among the files)."""
        month = check_month(data["month"])
        prefix = month.replace("-", "")
        raw_files = dict(data["files"])
        raw_checksums = dict(data.get("checksums") or {})
        if "date" in data and CHECKSUM in raw_files:
            raw_checksums[data["date"]] = raw_files.pop(CHECKSUM)
        files: dict[str, DumpFile] = {}
        for kind, raw in raw_files.items():
            f = file_from_dict(raw)
            if f.kind != kind or kind not in ENTITIES or not f.date.startswith(prefix):
                raise ValueError(f"inconsistent dump file entry for {kind} ({month}): {raw!r}")
            files[kind] = f
        checksums: dict[str, DumpFile] = {}
        for day, raw in raw_checksums.items():
            f = file_from_dict(raw)
            if f.kind != CHECKSUM or f.date != day or not day.startswith(prefix):
                raise ValueError(f"inconsistent CHECKSUM entry for {day} ({month}): {raw!r}")
            checksums[day] = f
        if not files:
            raise ValueError(f"dump entry for {month} lists no data file")
        return cls(month, files, checksums, dict(data.get("without_checksum") or {}),
                   tuple(data.get("other_dates", ())))


def combined_checksum_sha256(bodies: Mapping[str, bytes]) -> str:
    """One hash for the month's CHECKSUM files (name -> bytes). With one CHECKSUM it is that
    file's own SHA-256 (what the new-dump sensor puts into its run key); with several, the hash
    of their sorted ``<sha256> <name>`` lines, so any re-published one changes it."""
    digests = {name: hashlib.sha256(body).hexdigest() for name, body in bodies.items()}
    if len(digests) == 1:
        return next(iter(digests.values()))
    lines = "".join(f"{digests[n]} {n}\n" for n in sorted(digests))
    return hashlib.sha256(lines.encode()).hexdigest()


def _describe(files: dict[str, DumpFile]) -> str:
    return ", ".join(sorted(f.name for f in files.values()))


def select_month(
    files: Iterable[DumpFile],
    month: str,
    *,
    accept_unverified: bool = False,
    dump_dates: Mapping[str, str] | None = None,
) -> MonthDump:
    """Choose the files for partition ``month`` (``YYYY-MM``), kind by kind (see module doc).

    ``dump_dates``: kind -> YYYYMMDD to take that kind from that dump of the month instead.
    """
    prefix = check_month(month).replace("-", "")
    dumps: dict[str, dict[str, DumpFile]] = defaultdict(dict)
    for f in files:
        if f.date.startswith(prefix):
            dumps[f.date][f.kind] = f
    if not dumps:
        raise DumpNotPublished(f"no dump published for {month}")
    overrides = dict(dump_dates or {})
    _check_overrides(overrides, dumps, month, accept_unverified)
    chosen: dict[str, DumpFile] = {}
    without_checksum: dict[str, str] = {}
    for kind in ENTITIES:
        listing = [d for d in sorted(dumps) if kind in dumps[d]]
        complete = [d for d in listing if CHECKSUM in dumps[d]]
        if kind in overrides:
            chosen[kind] = dumps[overrides[kind]][kind]
        elif complete:
            chosen[kind] = dumps[complete[-1]][kind]
        elif listing and accept_unverified:
            chosen[kind] = dumps[listing[-1]][kind]
        elif listing:
            without_checksum[kind] = listing[-1]
    if not chosen:
        with_data = [d for d in sorted(dumps) if any(k in dumps[d] for k in ENTITIES)]
        if not with_data:
            dates = ", ".join(sorted(dumps))
            raise DumpIncomplete(f"dump for {month} is incomplete: CHECKSUM published but no "
                                 f"data files (dated {dates})")
        latest = with_data[-1]
        raise DumpIncomplete(
            f"dump for {month} is incomplete: CHECKSUM not yet published "
            f"(dump {latest} lists {_describe(dumps[latest])})"
        )
    used = {f.date for f in chosen.values()}
    checksums = {d: dumps[d][CHECKSUM] for d in sorted(used) if CHECKSUM in dumps[d]}
    others = tuple(d for d in sorted(dumps) if d not in used)
    return MonthDump(month, chosen, checksums, without_checksum, others)


def _check_overrides(overrides: Mapping[str, str], dumps: Mapping[str, Mapping[str, DumpFile]],
                     month: str, accept_unverified: bool) -> None:
    for kind, day in overrides.items():
        if kind not in ENTITIES:
            raise DumpOverrideError(f"dump_dates names {kind!r}, not one of "
                                    f"{', '.join(ENTITIES)}")
        listed = dumps.get(day, {})
        if kind not in listed:
            where = ", ".join(f"{d} ({', '.join(sorted(k for k in dumps[d] if k != CHECKSUM))})"
                              for d in sorted(dumps))
            raise DumpOverrideError(f"dump_dates asks for {kind} from dump {day}, which lists "
                                    f"no {kind} file for {month}; listed: {where}")
        if CHECKSUM not in listed and not accept_unverified:
            raise DumpOverrideError(f"dump_dates asks for {kind} from dump {day}, which has no "
                                    "CHECKSUM: add accept_unverified: true to take it")
