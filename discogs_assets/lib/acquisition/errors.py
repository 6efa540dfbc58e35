"""Errors of the acquisition stage, each retryable or not (see ``discogs_assets.lib.errors``)."""

from __future__ import annotations

from discogs_assets.lib.acquisition.checksum import ChecksumError
from discogs_assets.lib.errors import NonRetryableError, PipelineError, RetryableError


class DownloadError(PipelineError):
    """Base of every failure to fetch a listing or a file."""


class TransientDownloadError(DownloadError, RetryableError):
    """Network trouble or a 5xx: worth another attempt after a backoff."""


class RateLimited(TransientDownloadError):
    """429/503 with a Retry-After; ``retry_after`` is the wait the host asked for (seconds)."""


class DownloadFailed(DownloadError, NonRetryableError):
    """The host refused the request for good (404 and other 4xx) or the budget ran out."""


class ChecksumMismatch(DownloadFailed, ChecksumError):
    """A file's sha256 or size did not match twice in a row."""


class InsufficientDiskSpace(DownloadError, NonRetryableError):
    """Not enough free disk for the listed sizes."""


class RangeNotHonoured(TransientDownloadError):
    """A resume request got a 206 with the wrong Content-Range, or a 416: restart from zero."""
