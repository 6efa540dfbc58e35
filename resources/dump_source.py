"""The dump source as a Dagster resource: configuration in, a library ``DumpSource`` out."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import dagster as dg

from discogs_assets.lib.acquisition import DEFAULT_USER_AGENT, DumpSource
from discogs_assets.lib.settings import PRODUCTION_DUMPS_URL


class DumpSourceResource(dg.ConfigurableResource):
    """Where the monthly dumps come from and how politely they are fetched.

    ``url`` (``DISCOGS_DUMPS_URL``, default the production host): ``file://`` is a mirror
    directory; ``http(s)://`` speaks the production protocol, or S3 listings
    (detected, or forced with ``listing_format="s3"``).
    """

    url: str = PRODUCTION_DUMPS_URL
    listing_format: str = "auto"  # auto | html | s3
    user_agent: str = DEFAULT_USER_AGENT
    max_attempts: int = 5  # per request, with exponential backoff and jitter
    max_requests: int = 60  # request budget of one step
    max_retry_after_seconds: float = 600.0  # longer Retry-After: fail, let the retry sensor wait
    connect_timeout_seconds: float = 30.0
    stall_timeout_seconds: float = 120.0  # no byte for this long: the stream is stalled
    backoff_base_seconds: float = 2.0
    progress_interval_seconds: float = 10.0

    def host(self) -> str:
        """The dump host a Retry-After applies to (``file`` for a local mirror directory)."""
        parts = urlsplit(self.url)
        return parts.hostname or parts.scheme or "file"

    def get_source(self, log: logging.Logger | None = None) -> DumpSource:
        """A fresh DumpSource (close it, or use it as a context manager)."""
        return DumpSource.from_url(
            self.url,
            listing_format=self.listing_format,
            user_agent=self.user_agent,
            max_attempts=self.max_attempts,
            max_retry_after=self.max_retry_after_seconds,
            connect_timeout=self.connect_timeout_seconds,
            stall_timeout=self.stall_timeout_seconds,
            max_requests=self.max_requests,
            base_delay=self.backoff_base_seconds,
            progress_interval=self.progress_interval_seconds,
            log=log,
        )

