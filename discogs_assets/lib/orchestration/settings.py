"""Orchestration settings from the environment (sensors, checks, retention)."""

from __future__ import annotations

import os

from discogs_assets.lib.envvars import env_number
from discogs_assets.lib.orchestration.freshness import DEFAULT_MAX_DAYS
from discogs_assets.lib.orchestration.new_dump import DEFAULT_INTERVAL_S
from discogs_assets.lib.orchestration.quality import DEFAULT_MAX_DRIFT, DEFAULT_MAX_MISSING_SHARE
from discogs_assets.lib.orchestration.retention import DEFAULT_KEEP_MONTHS
from discogs_assets.lib.orchestration.retry import (
    DEFAULT_DELAYS_S,
    DEFAULT_MAX_ATTEMPTS,
    BackoffPolicy,
    parse_delays,
)
from discogs_assets.lib.orchestration.schedule import DEFAULT_LATE_DAY


def new_dump_interval_s() -> int:
    """``DISCOGS_NEW_DUMP_INTERVAL_SECONDS`` (default 6 h): one listing request per tick."""
    return int(env_number("DISCOGS_NEW_DUMP_INTERVAL_SECONDS", DEFAULT_INTERVAL_S))


def backoff_policy() -> BackoffPolicy:
    """``DISCOGS_RETRY_DELAYS_SECONDS`` ("300,1500,7200,21600"), ``DISCOGS_RETRY_MAX_ATTEMPTS``."""
    raw = os.environ.get("DISCOGS_RETRY_DELAYS_SECONDS", "").strip()
    return BackoffPolicy(
        delays_s=parse_delays(raw) if raw else DEFAULT_DELAYS_S,
        max_attempts=int(env_number("DISCOGS_RETRY_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)),
    )


def freshness_max_days() -> float:
    """``DISCOGS_FRESHNESS_DAYS`` (default 3): days from CHECKSUM to a completed month."""
    return env_number("DISCOGS_FRESHNESS_DAYS", DEFAULT_MAX_DAYS)


def keep_raw_months() -> int:
    """``DISCOGS_KEEP_RAW_MONTHS`` (default 2); 0 keeps every raw dump."""
    return int(env_number("DISCOGS_KEEP_RAW_MONTHS", DEFAULT_KEEP_MONTHS))


def max_count_drift() -> float:
    """``DISCOGS_MAX_COUNT_DRIFT`` (default 0.10): allowed change of a month's record count."""
    return env_number("DISCOGS_MAX_COUNT_DRIFT", DEFAULT_MAX_DRIFT)


def max_missing_key_share() -> float:
    """``DISCOGS_MAX_MISSING_KEY_SHARE`` (default 0.01): records without name/title (a warning)."""
    return env_number("DISCOGS_MAX_MISSING_KEY_SHARE", DEFAULT_MAX_MISSING_SHARE)


def dump_late_day() -> int:
    """``DISCOGS_DUMP_LATE_DAY`` (default 10): from this day of the month an unpublished dump
    is late and the daily schedule alerts."""
    day = int(env_number("DISCOGS_DUMP_LATE_DAY", DEFAULT_LATE_DAY, kind=int))
    if not 1 <= day <= 31:
        raise ValueError(f"DISCOGS_DUMP_LATE_DAY must be a day of the month (1-31), not {day}")
    return day
