"""Freshness of the latest published month: completed within N days of its CHECKSUM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class FreshnessResult:
    passed: bool
    month: str | None
    reason: str
    deadline: datetime | None = None


def evaluate_freshness(
    month: str | None,
    checksum_seen_at: datetime | None,
    completed_at: datetime | None,
    now: datetime,
    *,
    max_days: float,
) -> FreshnessResult:
    """Judge the latest published month (``None`` when nothing has been published yet).

    ``checksum_seen_at`` is when its CHECKSUM appeared; ``completed_at`` when the month
    completed (None if it has not). A month still inside its window passes (it is not late yet).
    """
    if month is None or checksum_seen_at is None:
        return FreshnessResult(True, month, "no published month with a CHECKSUM to judge yet")
    deadline = checksum_seen_at + timedelta(days=max_days)
    if completed_at is not None:
        late = completed_at > deadline
        verdict = "late" if late else "in time"
        return FreshnessResult(
            not late, month,
            f"{month} completed {completed_at.isoformat()} {verdict} (deadline "
            f"{deadline.isoformat()}, {max_days:g} days after its CHECKSUM appeared)", deadline,
        )
    if now > deadline:
        overdue = now - deadline
        return FreshnessResult(
            False, month,
            f"{month} is not completed {max_days:g} days after its CHECKSUM appeared at "
            f"{checksum_seen_at.isoformat()} (overdue by {overdue.total_seconds() / 3600:.1f} h)",
            deadline,
        )
    return FreshnessResult(
        True, month, f"{month} not completed yet; due by {deadline.isoformat()}", deadline
    )
