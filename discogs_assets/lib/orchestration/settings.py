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


def new_dump_interval_s() -> int:
    """``DISCOGS_NEW_DUMP_INTERVAL_SECONDS`` (default 6 h): one listing request per tick."""
    return int(env_number("DISCOGS_NEW_DUMP_INTERVAL_SECONDS", DEFAULT_INTERVAL_S))


def sensor_tick_s(name: str, default: int) -> int:
    """A sensor's minimum interval in seconds from ``name`` (e.g. ``DISCOGS_RETRY_TICK_SECONDS``);
    short ticks suit tests and small deployments, the defaults a production daemon."""
    return int(env_number(name, default))


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
