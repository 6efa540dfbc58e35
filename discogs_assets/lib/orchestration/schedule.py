"""The daily schedule's choice: the current month, unless it is complete or already running."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from discogs_assets.lib.layout import month_of


@dataclass(frozen=True)
class ScheduleDecision:
    month: str
    run: bool
    reason: str


def current_month_decision(
    now: datetime, *, status: str | None, busy: bool
) -> ScheduleDecision:
    """``status`` is the month's processing status (None when it has no row yet)."""
    month = month_of(now.date())
    if status == "completed":
        return ScheduleDecision(month, False, f"{month} is complete; nothing to do this month")
    if busy:
        return ScheduleDecision(month, False, f"a run for {month} is queued or in progress")
    return ScheduleDecision(month, True, f"{month} is {status or 'not started'}: run the chain")


def schedule_run_key(month: str, scheduled: datetime) -> str:
    """One run per month per day."""
    return f"{month}:daily:{scheduled.date().isoformat()}"
