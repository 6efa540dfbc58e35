"""The daily summary and the parser-version report, from processing-table rows, and the free
space of the data directory's disk."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from discogs_assets.lib.acquisition.download import existing_ancestor, human_bytes
from discogs_assets.lib.lifecycle.status import PENDING_STATUSES

GB = 10**9  # as the sizes in logs and the README: decimal
DEFAULT_STALE_HOURS = 24.0


@dataclass(frozen=True)
class DailySummary:
    failed: list[str]
    pending: list[str]
    stale: list[str]  # pending months not updated for longer than the stale window
    older_parser: list[str]
    completed: int

    def text(self) -> str:
        def show(months: list[str]) -> str:
            return ", ".join(months) if months else "none"

        return (f"completed months: {self.completed}; failed: {show(self.failed)}; "
                f"pending: {show(self.pending)}; stale: {show(self.stale)}; "
                f"parsed by an older parser: {show(self.older_parser)}")


def version_key(version: str) -> tuple[int | str, ...]:
    """Order "2", "10", "1.3.0" numerically, part by part (text parts compare as text)."""
    return tuple(int(p) if p.isdigit() else p for p in version.replace("-", ".").split("."))


def months_parsed_by_older(rows: Iterable[Mapping[str, Any]], current: str) -> list[str]:
    """Months whose recorded parser version is older than ``current`` (unknown ones skipped)."""
    return sorted(str(row["month"]) for row in rows
                  if row.get("parser_version") and is_older(str(row["parser_version"]), current))


def is_older(version: str, current: str) -> bool:
    """``version`` is an older parser version than ``current`` (see :func:`version_key`)."""
    a, b = version_key(version), version_key(current)
    try:
        return a < b
    except TypeError:  # mixed int/str parts: fall back to comparing text
        return tuple(map(str, a)) < tuple(map(str, b))


def summarize(
    rows: Iterable[Mapping[str, Any]],
    now: datetime,
    *,
    parser_version: str,
    stale_after: timedelta = timedelta(hours=DEFAULT_STALE_HOURS),
) -> DailySummary:
    rows = list(rows)
    failed = sorted(str(r["month"]) for r in rows if str(r["status"]) == "failed")
    pending_rows = [r for r in rows if str(r["status"]) in PENDING_STATUSES]
    stale = sorted(
        str(r["month"]) for r in pending_rows
        if r.get("updated_at") is not None and now - r["updated_at"] > stale_after
    )
    return DailySummary(
        failed=failed,
        pending=sorted(str(r["month"]) for r in pending_rows),
        stale=stale,
        older_parser=months_parsed_by_older(rows, parser_version),
        completed=sum(1 for r in rows if str(r["status"]) == "completed"),
    )


@dataclass(frozen=True)
class DiskSpace:
    """Free space on the data directory's disk, against the operator's minimum."""

    free_bytes: int
    total_bytes: int
    min_free_bytes: int

    @property
    def low(self) -> bool:
        return self.free_bytes < self.min_free_bytes

    def text(self) -> str:
        shown = f"free disk: {human_bytes(self.free_bytes)} of {human_bytes(self.total_bytes)}"
        if self.low:
            shown += (f", below the {human_bytes(self.min_free_bytes)} minimum "
                      "(DISCOGS_MIN_FREE_DISK_GB): a month needs about 11.6 GB to download")
        return shown


def disk_space(data_dir: Path, *, min_free_gb: float) -> DiskSpace:
    usage = shutil.disk_usage(existing_ancestor(data_dir))
    return DiskSpace(usage.free, usage.total, int(min_free_gb * GB))
