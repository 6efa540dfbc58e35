"""The month manifest: which dump a month resolved to, written beside the raw files.

``discogs_checksum`` writes it once per month; the raw and parsed stages read it, so a rerun of
a downloaded month needs no listing request.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from discogs_assets.lib.atomic import write_bytes_atomic

MANIFEST_NAME = "dump.json"


@dataclass(frozen=True)
class ManifestFile:
    name: str
    key: str
    """Where the source serves it (a listing key such as ``data/2026/<name>``)."""
    size: int | None
    sha256: str | None


@dataclass(frozen=True)
class MonthManifest:
    month: str
    dump_date: str
    verified: bool
    checksum_name: str | None
    checksum_sha256: str | None
    files: dict[str, ManifestFile] = field(default_factory=dict)
    """Data files by kind (labels, artists, masters, releases); absent kinds are not published."""

    def write(self, raw_dir: Path) -> Path:
        path = raw_dir / MANIFEST_NAME
        write_bytes_atomic(path, json.dumps(asdict(self), indent=2, sort_keys=True).encode())
        return path

    @classmethod
    def read(cls, raw_dir: Path) -> MonthManifest | None:
        path = raw_dir / MANIFEST_NAME
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        files = {kind: ManifestFile(**f) for kind, f in data.pop("files").items()}
        return cls(files=files, **data)
