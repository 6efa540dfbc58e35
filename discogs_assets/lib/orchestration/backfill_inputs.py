"""What ``plan-backfill`` knows about this installation, gathered for the pure planner.

Reads only: the processing and phase tables (when the warehouse exists), each month's manifest
and the dump files already on disk, and one listing per year not answered from disk (through
``YearListings``: cached, paced, stopped by a rate limit). A Retry-After met while listing is
recorded for every process, as the sensors and steps do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from discogs_assets.lib.acquisition import MonthDump
from discogs_assets.lib.acquisition.listing_cache import YearListings
from discogs_assets.lib.acquisition.names import is_dump_name
from discogs_assets.lib.layout import check_month, raw_dir
from discogs_assets.lib.lifecycle import CHECKSUM_STEP, MonthLifecycle
from discogs_assets.lib.manifest import MonthManifest
from discogs_assets.lib.orchestration.backfill_plan import (
    BackfillPlan,
    completed_by,
    measure_rates,
    months_needing_listing,
    plan_backfill,
)


def month_range(first: str, last: str) -> list[str]:
    """``first`` … ``last`` inclusive (``YYYY-MM``)."""
    y, m = (int(x) for x in check_month(first).split("-"))
    end = check_month(last)
    if first > end:
        raise ValueError(f"--from {first} is after --to {last}")
    out = []
    while (key := f"{y:04d}-{m:02d}") <= end:
        out.append(key)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _on_disk(month_dir: Path) -> dict[str, int]:
    if not month_dir.is_dir():
        return {}
    return {p.name: p.stat().st_size for p in month_dir.iterdir()
            if p.is_file() and is_dump_name(p.name)}


def gather_and_plan(
    months: Sequence[str],
    *,
    data_path: Path,
    engine: sa.Engine | None,
    listings: YearListings,
    host: str,
    parser_version: str,
    workers: int,
    order: str,
) -> BackfillPlan:
    lifecycle = MonthLifecycle(engine) if engine is not None else None
    rows: dict[str, dict[str, Any]] = {r["month"]: r for r in lifecycle.all()} if lifecycle \
        else {}
    phase_versions: dict[str, dict[str, str | None]] = {}
    for month in months:
        if lifecycle is not None and str((rows.get(month) or {}).get("status")) == "completed":
            phase_versions[month] = {e: p.get("parser_version")
                                     for e, p in lifecycle.phases(month).items()
                                     if e != CHECKSUM_STEP}
    done = {m for m in months if completed_by(rows.get(m), phase_versions.get(m, {}),
                                              parser_version)}
    resolved: dict[str, MonthDump] = {}
    for month in months:
        manifest = MonthManifest.read(raw_dir(data_path, month))
        if manifest is not None:
            resolved[month] = manifest.dump
    if lifecycle is not None and listings.blocked is None:
        wait = lifecycle.host_backoff_until(host, datetime.now(UTC))
        if wait is not None:
            listings.blocked = (f"the dump host asked us to wait until {wait[0].isoformat()} "
                                f"({wait[1]}); no listing request made")
    years = {year: listings.get(year)
             for year in months_needing_listing(months, done, resolved)}
    if listings.retry_after is not None and lifecycle is not None:
        lifecycle.record_host_backoff(
            host, datetime.now(UTC) + timedelta(seconds=listings.retry_after),
            f"plan-backfill: {listings.blocked}")
    return plan_backfill(
        months, processing=rows, phase_versions=phase_versions, resolved=resolved,
        on_disk={m: _on_disk(raw_dir(data_path, m)) for m in months if m not in done},
        listings=years, parser_version=parser_version, rates=measure_rates(rows.values()),
        workers=workers, order=order, listing_requests=listings.requests)
