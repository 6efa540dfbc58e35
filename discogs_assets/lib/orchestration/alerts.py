"""Structured alert payloads: one shape for Sentry tags and for the JSON log line."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_MESSAGE_CHARS = 4000
# Secrets must never reach an alert: mask credentials in URLs and Sentry DSN-like strings.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s:@]+(?::[^/\s@]*)?@")


def redact(text: str) -> str:
    """Mask ``user:password@`` in any URL inside ``text``."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


@dataclass(frozen=True)
class Alert:
    kind: str  # run_failure | check_failure | retries_exhausted | freshness | summary |
    # dump_late | disk_low
    message: str
    level: str = "error"  # error | warning | info
    month: str | None = None
    asset: str | None = None
    run_id: str | None = None
    attempt: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", redact(self.message)[:MAX_MESSAGE_CHARS])

    def tags(self) -> dict[str, str]:
        """Sentry tags (strings, only the ones known)."""
        values = {"alert": self.kind, "month": self.month, "asset": self.asset,
                  "run_id": self.run_id, "attempt": self.attempt}
        return {k: str(v) for k, v in values.items() if v is not None}

    def log_line(self) -> str:
        """One JSON object per alert, greppable as ``"event": "discogs_alert"``."""
        return json.dumps({"event": "discogs_alert", **asdict(self)}, sort_keys=True, default=str)
