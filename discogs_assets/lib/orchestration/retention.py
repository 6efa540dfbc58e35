"""What retention may delete: only what no month needs any more.

Raw dumps (``raw/YYYY-MM``, about 11.6 GB a month) and parsed output (``parsed/YYYY-MM``) are
deleted only for months whose warehouse load completed, beyond the newest N month directories
on disk, and never for a month a run is using. A failed or not yet loaded month keeps its files
whatever its age: they save a download (or a parse) when it is retried. The parsed output of the
newest completed month (the warehouse's current month) is always kept: the next month's checks
compare against it. Directory names that are not months are never touched.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from discogs_assets.lib.layout import MONTH_RE

COMPLETED = "completed"


def select_months_to_delete(
    months_on_disk: Iterable[str],
    *,
    keep: int,
    completed: Iterable[str],
    in_use: Iterable[str] = (),
    protected: Iterable[str] = (),
) -> list[str]:
    """Month directories to delete, oldest first: completed months older than the newest
    ``keep`` months on disk, none in ``in_use`` or ``protected``. ``keep`` 0 keeps everything."""
    if not keep:
        return []
    months = sorted({m for m in months_on_disk if MONTH_RE.match(m)})
    done = set(completed)
    spared = set(in_use) | set(protected)
    return [m for m in months[:-keep] if m in done and m not in spared]


@dataclass(frozen=True)
class RetentionPlan:
    raw: list[str]  # raw month directories to delete
    parsed: list[str]  # parsed month directories to delete
    current: str | None  # the newest completed month: its parsed output always stays
    unfinished: dict[str, str]  # older than the window but kept: month -> its status
    busy: list[str]  # older than the window but kept: a run is using them


def plan_retention(
    raw_on_disk: Iterable[str],
    parsed_on_disk: Iterable[str],
    statuses: Mapping[str, str],
    *,
    keep_raw: int,
    keep_parsed: int,
    in_use: Iterable[str] = (),
) -> RetentionPlan:
    """``statuses`` maps months to their processing status (a month without a row has never
    been loaded: it is kept)."""
    raw_months = sorted({m for m in raw_on_disk if MONTH_RE.match(m)})
    parsed_months = sorted({m for m in parsed_on_disk if MONTH_RE.match(m)})
    completed = [m for m, status in statuses.items() if status == COMPLETED]
    current = max(completed, default=None)
    busy = set(in_use)
    raw = select_months_to_delete(raw_months, keep=keep_raw, completed=completed, in_use=busy)
    parsed = select_months_to_delete(parsed_months, keep=keep_parsed, completed=completed,
                                     in_use=busy, protected=[current] if current else [])
    beyond = ({*raw_months[:-keep_raw]} if keep_raw else set()) | (
        {*parsed_months[:-keep_parsed]} if keep_parsed else set())
    unfinished = {m: statuses.get(m, "never loaded") for m in sorted(beyond)
                  if statuses.get(m) != COMPLETED and m not in busy}
    return RetentionPlan(raw, parsed, current, unfinished, sorted(beyond & busy))


def delete_month_dirs(root: Path, months: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """Delete ``root/<month>`` for each month; (deleted, month -> error). Never raises:
    cleanup is best effort and a failure must not fail the pipeline."""
    deleted: list[str] = []
    errors: dict[str, str] = {}
    for month in months:
        target = root / month
        if not MONTH_RE.match(month) or target.parent != root:
            errors[month] = "not a month directory name"
            continue
        try:
            shutil.rmtree(target)
            deleted.append(month)
        except FileNotFoundError:
            deleted.append(month)  # already gone: the goal is reached
        except OSError as exc:
            errors[month] = f"{type(exc).__name__}: {exc}"
    return deleted, errors
