"""The dump host's retries: the project's one retry policy (``lib/http_retry``) with
acquisition's error types.

A call that used up its attempts fails with ``TransientDownloadError``; a Retry-After beyond the
ceiling fails at once with ``RateLimited`` (the run fails and the retry sensor comes back when
the host allows the next request).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from discogs_assets.lib import http_retry
from discogs_assets.lib.acquisition.errors import RateLimited, TransientDownloadError

T = TypeVar("T")
_log = logging.getLogger(__name__)


def retry_call(
    fn: Callable[[], T],
    policy: http_retry.RetryPolicy,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    log: http_retry.WarningLog | None = None,
    rand: Callable[[], float] = random.random,
) -> T:
    """Call ``fn`` until it returns, retrying ``TransientDownloadError`` under ``policy``."""
    try:
        return http_retry.retry_call(fn, policy, what=what, retry_on=TransientDownloadError,
                                     sleep=sleep, log=log or _log, rand=rand)
    except http_retry.RetryAfterTooLong as exc:
        raise RateLimited(str(exc), retry_after=exc.retry_after) from exc.__cause__
    except http_retry.GaveUp as exc:
        raise TransientDownloadError(str(exc), retry_after=exc.retry_after) from exc.__cause__
