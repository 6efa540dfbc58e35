"""One remote refresh per dump cycle: which month's run refreshes the LML service, and what
that run reports.

The refresh asks the service about every identity, whatever the month, so refreshing once per
backfilled month would spend the whole request budget again for each. It runs for the newest
month only: a month skips it when a newer month is completed or still in flight (that month
will refresh when it completes). A run config can force it for one run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from ..lifecycle import ProcessingStatus
from .counters import LmlCounters, Log
from .remote import RefreshResult, RemoteRefreshConfig, refresh_remote, request_budget

S = ProcessingStatus
_NEWER_BLOCKS: Final = (S.COMPLETED, S.DOWNLOADING, S.READY_FOR_PROCESSING, S.PROCESSING)

REFRESHED: Final = "refreshed"
DRY_RUN: Final = "dry_run"
DISABLED: Final = "disabled"
SKIPPED: Final = "skipped"


def newer_month(month: str, rows: Iterable[Mapping[str, Any]]) -> tuple[str, str] | None:
    """The newest month after ``month`` that is completed or in flight, with its status.

    A failed month is ignored: it may never complete, and the refresh would then never run.
    """
    newer = [(r["month"], str(r["status"])) for r in rows
             if r["month"] > month and r["status"] in _NEWER_BLOCKS]
    return max(newer) if newer else None


@dataclass(frozen=True)
class MonthRefresh:
    """What the month's refresh step did (``status``) and why (``reason``)."""

    status: str
    reason: str
    result: RefreshResult | None = None

    @property
    def counters(self) -> LmlCounters | None:
        """The service's counters; None when it was not asked (disabled, skipped, dry run)."""
        return self.result.counters if self.result is not None else None

    def counter_metadata(self) -> dict[str, int]:
        """``lml.*`` and ``skipped_discogs_unavailable`` when the service was asked."""
        if self.result is None or self.result.counters is None:
            return {}
        return {**self.result.counters.as_metadata(),
                "skipped_discogs_unavailable": self.result.skipped_discogs_unavailable}

    def metadata(self) -> dict[str, Any]:
        return {"remote_refresh": self.status, "remote_refresh_reason": self.reason,
                **self.counter_metadata()}


def refresh_for_month(engine: sa.Engine, month: str, cfg: RemoteRefreshConfig | None,
                      processing_rows: Iterable[Mapping[str, Any]], log: Log, *,
                      force: bool, budget_path: Path, **kwargs: Any) -> MonthRefresh:
    """Refresh the LML service for ``month`` when it is the newest month (or ``force``).

    ``budget_path``: the request budget shared by every run (see ``request_budget``);
    ``kwargs`` go to ``refresh_ids`` (tests pass a fast ``sleep``).
    """
    if cfg is None:
        return MonthRefresh(DISABLED, "LML_BASE_URL is not set")
    blocker = newer_month(month, processing_rows)
    if blocker is not None and not force:
        newer, status = blocker
        reason = (f"{newer} is newer ({status}); the refresh runs once, for the newest month "
                  "(run config force: true refreshes anyway)")
        log.info(f"LML refresh skipped for {month}: {reason}")
        return MonthRefresh(SKIPPED, reason)
    reason = f"forced for {month}" if blocker is not None else f"{month} is the newest month"
    with request_budget(cfg.batches_per_minute, budget_path) as budget:
        result = refresh_remote(engine, cfg, log, budget=budget, **kwargs)
    return MonthRefresh(DRY_RUN if cfg.dry_run else REFRESHED, reason, result)
