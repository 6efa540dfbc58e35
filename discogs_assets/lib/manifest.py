"""The month manifest: which dump a month resolved to, written beside the raw files.

``discogs_checksum`` writes it once per month; the raw and parsed stages read it, so a rerun of
a downloaded month (and each raw step) needs no listing request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from discogs_assets.lib.acquisition import DumpFile, MonthDump
from discogs_assets.lib.atomic import write_bytes_atomic

MANIFEST_NAME = "dump.json"


@dataclass(frozen=True)
class MonthManifest:
    dump: MonthDump
    checksum_sha256: str | None
    """SHA-256 of the CHECKSUM file itself (part of the new-dump sensor's run key)."""
    sha256: dict[str, str] = field(default_factory=dict)
    """Expected SHA-256 per data file name, from the CHECKSUM; empty for an unverified dump."""

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

    def write(self, raw_dir: Path) -> Path:
        path = raw_dir / MANIFEST_NAME
        body = {"dump": self.dump.to_dict(), "checksum_sha256": self.checksum_sha256,
                "sha256": self.sha256}
        write_bytes_atomic(path, json.dumps(body, indent=2, sort_keys=True).encode())
        return path

    @classmethod
    def read(cls, raw_dir: Path) -> MonthManifest | None:
        path = raw_dir / MANIFEST_NAME
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return cls(MonthDump.from_dict(data["dump"]), data["checksum_sha256"], data["sha256"])
