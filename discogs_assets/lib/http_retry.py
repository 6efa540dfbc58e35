"""The one retry policy of the project's HTTP clients (the dump host and the LML service).

A call is retried only for a ``RetryableError`` (network trouble, a 5xx, a 429/503), at most
``max_attempts`` times in all, with exponential backoff and jitter between attempts. A
``Retry-After`` the server sent (``RetryableError.retry_after``) replaces the backoff when it is
within ``max_retry_after``; a longer one ends the call at once with ``RetryAfterTooLong``, so a
step never sleeps for an hour: the orchestration comes back later instead. The loop itself is
tenacity's; ``sleep`` and ``rand`` are injectable so tests run in milliseconds.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import tenacity

from discogs_assets.lib.errors import RetryableError

T = TypeVar("T")
_log = logging.getLogger(__name__)


class WarningLog(Protocol):
    """A ``logging.Logger``, Dagster's ``context.log``, or anything else with ``warning(str)``."""

    def warning(self, msg: str, /) -> Any: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 2.0  # seconds before the 2nd attempt; doubles each time
    max_delay: float = 120.0
    max_retry_after: float = 600.0  # longest server-requested wait honoured in-process
    jitter: float = 0.5  # the delay is drawn from [d * (1 - jitter), d]

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


class GaveUp(RetryableError):
    """Every attempt failed with a retryable error; the last one is the ``__cause__``."""


class RetryAfterTooLong(RetryableError):
    """The server asked to wait longer than ``max_retry_after``; ``retry_after`` is its wait."""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or garbled."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(attempt: int, policy: RetryPolicy,
                  rand: Callable[[], float] = random.random) -> float:
    """Delay after failed attempt number ``attempt`` (1-based)."""
    delay = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return delay * (1 - policy.jitter * rand())


def _hinted_wait(state: tenacity.RetryCallState) -> float | None:
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc.retry_after if isinstance(exc, RetryableError) else None


def retry_call(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str,
    retry_on: type[RetryableError] = RetryableError,
    sleep: Callable[[float], None] = time.sleep,
    log: WarningLog = _log,
    rand: Callable[[], float] = random.random,
) -> T:
    """Call ``fn`` until it returns; retry ``retry_on`` errors under ``policy``.

    Any other exception propagates at once. Raises ``GaveUp`` after the last attempt and
    ``RetryAfterTooLong`` when the server asks for a longer wait than the policy allows.
    """
    def too_long(state: tenacity.RetryCallState) -> bool:
        hinted = _hinted_wait(state)
        return hinted is not None and hinted > policy.max_retry_after

    def stop(state: tenacity.RetryCallState) -> bool:
        return state.attempt_number >= policy.max_attempts or too_long(state)

    def wait(state: tenacity.RetryCallState) -> float:
        hinted = _hinted_wait(state)
        return hinted if hinted is not None else backoff_delay(state.attempt_number, policy, rand)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(f"{what}: attempt {state.attempt_number}/{policy.max_attempts} failed "
                    f"({error}); retrying in {state.upcoming_sleep:.1f} s")

    retrying = tenacity.Retrying(retry=tenacity.retry_if_exception_type(retry_on), stop=stop,
                                 wait=wait, sleep=sleep, before_sleep=before_sleep)
    try:
        return retrying(fn)
    except tenacity.RetryError as err:
        state = err.last_attempt
        last = state.exception()
        hinted = last.retry_after if isinstance(last, RetryableError) else None
        if hinted is not None and hinted > policy.max_retry_after:
            raise RetryAfterTooLong(
                f"{what}: the server asks to wait {hinted:.0f} s before the next request "
                f"(more than the {policy.max_retry_after:.0f} s ceiling); retry later: {last}",
                retry_after=hinted) from last
        raise GaveUp(f"{what}: giving up after {state.attempt_number} attempts: {last}",
                     retry_after=hinted) from last
