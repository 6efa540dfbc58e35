"""The daily schedule's choice for the current month.

Run the month's chain once its dump is published, until the month is complete. Before
publication (often days into the month) skip quietly, saying so; from the late day on, say the
dump is late so the schedule can alert. The listing outcome comes from one request made by the
caller; everything here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from discogs_assets.lib.acquisition import DumpIncomplete, DumpNotPublished, DumpSource
from discogs_assets.lib.errors import PipelineError, RetryableError
from discogs_assets.lib.layout import month_of

DEFAULT_LATE_DAY = 10
# A daily tick evaluated a day or more after its time has a newer tick beside it (the daemon
# catches up missed ticks after an outage): only the newest one asks the host and alerts.
CATCH_UP_AGE = timedelta(days=1)


class Publication(StrEnum):
    PUBLISHED = "published"  # a complete dump (with its CHECKSUM) is listed
    NOT_PUBLISHED = "not_published"  # nothing listed for the month yet
    INCOMPLETE = "incomplete"  # files listed, but no CHECKSUM (the "complete" marker) yet
    ERROR = "error"  # the listing request failed: publication unknown


@dataclass(frozen=True)
class ListingOutcome:
    publication: Publication
    detail: str = ""  # what the listing said, for the skip reason
    retry_after: float | None = None  # seconds the host asked us to wait (listing errors)


@dataclass(frozen=True)
class ScheduleDecision:
    month: str
    run: bool
    reason: str
    late: bool = False  # the dump is late: alert (the schedule evaluates once a day)


def check_publication(source: DumpSource, month: str) -> ListingOutcome:
    """One listing request (the caller makes ``source`` single-attempt): is ``month`` out?"""
    try:
        source.find_month(month)
    except DumpNotPublished as exc:
        return ListingOutcome(Publication.NOT_PUBLISHED, str(exc))
    except DumpIncomplete as exc:
        return ListingOutcome(Publication.INCOMPLETE, str(exc))
    except RetryableError as exc:
        return ListingOutcome(Publication.ERROR, str(exc), retry_after=exc.retry_after)
    except PipelineError as exc:  # a refused or unreadable listing: nothing to launch either
        return ListingOutcome(Publication.ERROR, str(exc))
    return ListingOutcome(Publication.PUBLISHED)


def is_catch_up_tick(scheduled: datetime, now: datetime) -> bool:
    return now - scheduled >= CATCH_UP_AGE


def needs_listing(*, status: str | None, busy: bool) -> bool:
    """A complete month, or one a run is already working on, needs no request to the host."""
    return status != "completed" and not busy


def current_month_decision(
    listing: ListingOutcome | None,
    today: date,
    *,
    late_day: int,
    status: str | None,
    busy: bool,
) -> ScheduleDecision:
    """``status`` is the month's processing status (None when it has no row yet); ``listing``
    is None only when ``needs_listing`` said no request was needed."""
    month = month_of(today)
    if status == "completed":
        return ScheduleDecision(month, False, f"{month} is complete; nothing to do this month")
    if busy:
        return ScheduleDecision(month, False, f"a run for {month} is queued or in progress")
    if listing is None:
        raise ValueError(f"{month} is {status or 'not started'}: a listing outcome is needed")
    if listing.publication is Publication.PUBLISHED:
        return ScheduleDecision(month, True, f"{month} is {status or 'not started'} and its "
                                "dump is published: run the chain")
    if listing.publication is Publication.ERROR:
        wait = (f"; the host asked to wait {listing.retry_after:.0f} s"
                if listing.retry_after is not None else "")
        return ScheduleDecision(month, False, f"{month}: the dump listing failed "
                                f"({listing.detail}){wait}; no run today, asking again tomorrow")
    if today.day >= late_day:
        return ScheduleDecision(
            month, False, f"{month}: {listing.detail}; the dump is late (day {today.day}, "
            f"expected by day {late_day}, DISCOGS_DUMP_LATE_DAY)", late=True)
    return ScheduleDecision(month, False, f"{month}: {listing.detail}; waiting for Discogs to "
                            f"publish (not late before day {late_day})")


def schedule_run_key(month: str, scheduled: datetime) -> str:
    """One run per month per day."""
    return f"{month}:daily:{scheduled.date().isoformat()}"
