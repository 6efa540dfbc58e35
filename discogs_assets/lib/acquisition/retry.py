"""Bounded retries with exponential backoff and jitter, and the host's Retry-After.

Small on purpose: one call is retried at most ``max_attempts`` times; a Retry-After within
``max_retry_after`` is honoured by sleeping, a longer one fails at once with ``RateLimited``
(the run fails and the orchestration's retry sensor comes back later). Sleep and randomness
are injectable so tests run in milliseconds.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from discogs_assets.lib.acquisition.errors import RateLimited, TransientDownloadError

T = TypeVar("T")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryConfig:
    max_attempts: int = 5
    base_delay: float = 2.0  # seconds before the 2nd attempt; doubles each time
    max_delay: float = 120.0
    max_retry_after: float = 600.0  # longest Retry-After honoured in-process
    jitter: float = 0.5  # the delay is drawn from [d * (1 - jitter), d]

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


def backoff_delay(
    attempt: int, config: RetryConfig, rand: Callable[[], float] = random.random
) -> float:
    """Delay after failed attempt number ``attempt`` (1-based)."""
    delay = min(config.max_delay, config.base_delay * 2 ** (attempt - 1))
    return delay * (1 - config.jitter * rand())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or garbled."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_call(
    fn: Callable[[], T],
    config: RetryConfig,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    log: logging.Logger | logging.LoggerAdapter | None = None,
    rand: Callable[[], float] = random.random,
) -> T:
    """Call ``fn`` until it returns, retrying TransientDownloadError with backoff."""
    log = log or _log
    for attempt in range(1, config.max_attempts + 1):
        try:
            return fn()
        except TransientDownloadError as exc:
            wait = exc.retry_after
            if wait is not None and wait > config.max_retry_after:
                raise RateLimited(
                    f"{what}: the host asks to wait {wait:.0f} s before the next request "
                    f"(more than the {config.max_retry_after:.0f} s ceiling); retry later: {exc}",
                    retry_after=wait,
                ) from exc
            if attempt == config.max_attempts:
                raise TransientDownloadError(
                    f"{what}: giving up after {attempt} attempts: {exc}", retry_after=wait
                ) from exc
            if wait is None:
                wait = backoff_delay(attempt, config, rand)
            log.warning(
                "%s: attempt %d/%d failed (%s); retrying in %.1f s",
                what,
                attempt,
                config.max_attempts,
                exc,
                wait,
            )
            sleep(wait)
    raise AssertionError("unreachable")  # the loop either returns or raises
