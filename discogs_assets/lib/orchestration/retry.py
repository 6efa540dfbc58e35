"""When to re-request a failed month: exponential backoff, bounded attempts, no busy months.

Plain data in, a decision out, so the retry sensor stays a thin adapter and the timing rules
are unit-tested without Dagster.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class BackoffPolicy:
    """``delays_s[i]`` is the wait after the (i+1)-th failed attempt; the last one repeats."""

    delays_s: tuple[float, ...]  # defaults: DISCOGS_RETRY_DELAYS_SECONDS in lib/settings.py
    max_attempts: int

    def __post_init__(self) -> None:
        if not self.delays_s or any(d < 0 for d in self.delays_s):
            raise ValueError(f"backoff delays must be non-negative and not empty: {self.delays_s}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")

    def delay_after(self, attempts: int) -> timedelta:
        """The wait after ``attempts`` failed attempts (1 = the first run failed)."""
        index = min(max(attempts, 1) - 1, len(self.delays_s) - 1)
        return timedelta(seconds=self.delays_s[index])


@dataclass(frozen=True)
class FailedMonth:
    """What the retry rules need from one processing-table row."""

    month: str
    retryable: bool
    retry_count: int  # retries already started (the first run is not a retry)
    failed_at: datetime
    last_error: str
    last_run_id: str | None = None
    gate_disabled: bool = False
    not_before: datetime | None = None  # a wait the dump host asked for (Retry-After)

    @property
    def attempts(self) -> int:
        return self.retry_count + 1


class RetryAction(enum.StrEnum):
    RETRY = "retry"
    WAIT = "wait"
    BUSY = "busy"  # a run for the month is queued or in progress
    EXHAUSTED = "exhausted"
    NOT_RETRYABLE = "not_retryable"
    GATE_RELEASED = "gate_released"  # cancelled by the gate, which is on again: request it


@dataclass(frozen=True)
class RetryDecision:
    action: RetryAction
    month: str
    reason: str
    due_at: datetime | None = None

    @property
    def requests_run(self) -> bool:
        return self.action in (RetryAction.RETRY, RetryAction.GATE_RELEASED)


def decide_retry(
    failed: FailedMonth, now: datetime, *, busy: bool, policy: BackoffPolicy
) -> RetryDecision:
    """What to do about one failed month at ``now``."""
    m = failed.month
    if busy:
        return RetryDecision(RetryAction.BUSY, m, f"{m}: a run for this month is in progress")
    if failed.gate_disabled:
        return RetryDecision(RetryAction.GATE_RELEASED, m,
                             f"{m}: cancelled while the gate was off; the gate is on again")
    if not failed.retryable:
        return RetryDecision(RetryAction.NOT_RETRYABLE, m,
                             f"{m}: failed for a non-retryable reason: {failed.last_error}")
    if failed.attempts >= policy.max_attempts:
        return RetryDecision(RetryAction.EXHAUSTED, m,
                             f"{m}: {failed.attempts} of {policy.max_attempts} attempts failed; "
                             f"last error: {failed.last_error}")
    due = failed.failed_at + policy.delay_after(failed.attempts)
    if failed.not_before is not None and failed.not_before > due:
        due = failed.not_before  # the host's Retry-After outlasts our own backoff
    if now < due:
        return RetryDecision(RetryAction.WAIT, m,
                             f"{m}: attempt {failed.attempts + 1} due at {due.isoformat()}", due)
    return RetryDecision(RetryAction.RETRY, m,
                         f"{m}: attempt {failed.attempts + 1} of {policy.max_attempts} "
                         f"(failed at {failed.failed_at.isoformat()})", due)


def retry_run_key(failed: FailedMonth) -> str:
    """One retry per failure: the failed run (or failure time) makes the key unique."""
    marker = failed.last_run_id or failed.failed_at.isoformat()
    kind = "gate" if failed.gate_disabled else f"attempt{failed.attempts + 1}"
    return f"{failed.month}:retry:{kind}:{marker}"
