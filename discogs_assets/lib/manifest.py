"""The month manifest: which files a month resolved to, written beside the raw files.

``discogs_checksum`` writes it once per month; the raw and parsed stages read it, so a rerun of
a downloaded month (and each raw step) needs no listing request. It records, per file, the dump
it comes from and the CHECKSUM it is verified against (a month may merge several dumps).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from discogs_assets.lib.acquisition import DumpFile, DumpSource, MonthDump, parse_checksum
from discogs_assets.lib.acquisition.checksum import ChecksumError
from discogs_assets.lib.acquisition.selection import combined_checksum_sha256
from discogs_assets.lib.atomic import write_bytes_atomic
from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.tables import ENTITIES

MANIFEST_NAME = "dump.json"


@dataclass(frozen=True)
class MonthManifest:
    dump: MonthDump
    checksum_sha256: str | None
    """One hash of the month's CHECKSUM file(s) (see ``combined_checksum_sha256``); part of the
    new-dump sensor's run key. None when no file is verified."""
    sha256: dict[str, str] = field(default_factory=dict)
    """Expected SHA-256 per data file name, each from its own dump's CHECKSUM; a file accepted
    unverified has none."""
    checksum_files: dict[str, str] = field(default_factory=dict)
    """SHA-256 of each CHECKSUM file used (name -> hash)."""

    @property
    def month(self) -> str:
        return self.dump.month

    @property
    def dump_date(self) -> str:
        return self.dump.date

    @property
    def verified(self) -> bool:
        return self.dump.verified

    def data_file(self, kind: str) -> DumpFile | None:
        return self.dump.files.get(kind)

    def provenance(self) -> dict[str, dict[str, str | None]]:
        """kind -> the file, its dump and the CHECKSUM it is verified against (for metadata)."""
        out: dict[str, dict[str, str | None]] = {}
        for kind, f in self.dump.files.items():
            checksum = self.dump.checksum_of(kind)
            out[kind] = {"file": f.name, "dump_date": f.date,
                         "checksum": checksum.name if checksum else None,
                         "sha256": self.sha256.get(f.name)}
        return out

    def absent(self, kind: str) -> bool:
        """No dump of the month lists ``kind``: the month is complete without it."""
        return kind in self.dump.missing_kinds

    def not_taken(self, kind: str) -> str | None:
        """Why the month has no ``kind`` file to take (None when it has one). A kind listed only
        in a dump without a CHECKSUM raises: the operator must accept it or skip it knowingly."""
        if kind in self.dump.files:
            return None
        day = self.dump.without_checksum.get(kind)
        if day is not None:
            raise NonRetryableError(
                f"{kind} for {self.month} is only in dump {day}, which never got a CHECKSUM: "
                "materialize discogs_checksum with accept_unverified: true to take it "
                "(verified by listed size only)")
        dates = ", ".join(self.dump.dates + self.dump.other_dates)
        return (f"no {kind} file in the dumps of {self.month} ({dates}): nothing to do, "
                f"the warehouse keeps its current {kind}")

    def write(self, raw_dir: Path) -> Path:
        path = raw_dir / MANIFEST_NAME
        body = {"dump": self.dump.to_dict(), "checksum_sha256": self.checksum_sha256,
                "sha256": self.sha256, "checksum_files": self.checksum_files}
        write_bytes_atomic(path, json.dumps(body, indent=2, sort_keys=True).encode())
        return path

    @classmethod
    def read(cls, raw_dir: Path) -> MonthManifest | None:
        path = raw_dir / MANIFEST_NAME
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return cls(MonthDump.from_dict(data["dump"]), data["checksum_sha256"], data["sha256"],
                   data.get("checksum_files", {}))

    def agrees_with(self, dump_dates: Mapping[str, str]) -> bool:
        """Whether every kind of a ``dump_dates`` override already comes from that dump."""
        return all((f := self.dump.files.get(kind)) is not None and f.date == day
                   for kind, day in dump_dates.items())


def resolve_month(source: DumpSource, month: str, *, accept_unverified: bool = False,
                  dump_dates: Mapping[str, str] | None = None) -> MonthManifest:
    """One listing request, plus one per CHECKSUM the chosen files are verified against."""
    dump = source.find_month(month, accept_unverified=accept_unverified, dump_dates=dump_dates)
    bodies = {c.name: source.fetch_bytes(c) for c in dump.checksums.values()}
    sums = {name: parse_checksum(body, source_name=name)
            for name, body in bodies.items()}
    expected: dict[str, str] = {}
    for kind in ENTITIES:
        checksum = dump.checksum_of(kind) if kind in dump.files else None
        if checksum is None:
            continue
        listed = dump.files[kind]
        digest = sums[checksum.name].get(listed.name)
        if digest is None:
            raise ChecksumError(f"{checksum.name} lists no sha256 for {listed.name} ({month})")
        expected[listed.name] = digest
    combined = combined_checksum_sha256(bodies) if bodies else None
    return MonthManifest(dump, combined, expected,
                         {name: hashlib.sha256(body).hexdigest() for name, body in bodies.items()})
