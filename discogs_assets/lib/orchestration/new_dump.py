"""The new-dump sensor's memory: which CHECKSUMs it has seen.

The cursor is JSON. A CHECKSUM is identified cheaply by (name, size, last modified) from the
listing, so a dump seen before costs one listing request and nothing more; only a CHECKSUM not
seen before is fetched to compute the sha256 that goes into the run key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

MAX_CURSOR_MONTHS = 24  # enough memory for re-publications; keeps the cursor small


@dataclass(frozen=True)
class ChecksumSeen:
    name: str
    size: int
    last_modified: str | None  # ISO timestamp from the listing
    sha256: str
    first_seen_at: str  # when the sensor first saw this CHECKSUM (ISO, UTC)

    def same_listing(self, name: str, size: int, last_modified: datetime | None) -> bool:
        modified = last_modified.isoformat() if last_modified else None
        return (self.name, self.size, self.last_modified) == (name, size, modified)


@dataclass
class NewDumpCursor:
    seen: dict[str, ChecksumSeen] = field(default_factory=dict)  # month -> latest CHECKSUM

    @classmethod
    def load(cls, text: str | None) -> NewDumpCursor:
        if not text:
            return cls()
        data = json.loads(text)
        seen = {m: ChecksumSeen(**v) for m, v in data.get("seen", {}).items()}
        return cls(seen=seen)

    def dump(self) -> str:
        months = sorted(self.seen)[-MAX_CURSOR_MONTHS:]
        return json.dumps(
            {"seen": {m: asdict(self.seen[m]) for m in months}},
            sort_keys=True,
        )


def new_dump_run_key(month: str, checksum_sha256: str) -> str:
    """A re-published dump (new CHECKSUM bytes) gets a new key; a seen one never reruns."""
    return f"{month}:{checksum_sha256}"
