"""Year listings for planning many months: cached on disk, paced, stopping at a rate limit.

A backfill plan over 2008–2026 needs up to 19 year listings, more than the host tolerates in a
burst (about 15 requests in 6 minutes earned a one-hour ban). So: one request per year at most,
``min_interval_s`` apart; a listing of a past year is kept on disk and reused (past dumps do
not change; ``refresh`` asks again), the current year's for ``current_ttl_s``; a wait the host
asked for (stored, or met here) stops every further request and the remaining years are
reported as unavailable with the reason. The caller keys ``cache_dir`` by host.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from discogs_assets.lib.acquisition.listing import DumpFile
from discogs_assets.lib.acquisition.selection import file_from_dict, file_to_dict
from discogs_assets.lib.acquisition.source import DumpSource
from discogs_assets.lib.atomic import write_bytes_atomic
from discogs_assets.lib.errors import PipelineError, RetryableError

DEFAULT_MIN_INTERVAL_S = 30.0  # 12 requests in 6 minutes at most
DEFAULT_CURRENT_TTL_S = 6 * 3600.0


class YearListings:
    def __init__(self, source: DumpSource, cache_dir: Path, *,
                 min_interval_s: float = DEFAULT_MIN_INTERVAL_S,
                 current_ttl_s: float = DEFAULT_CURRENT_TTL_S, refresh: bool = False,
                 blocked: str | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """``blocked``: why no request may be made at all (a stored Retry-After)."""
        self.source = source
        self.cache_dir = cache_dir
        self.min_interval_s = min_interval_s
        self.current_ttl_s = current_ttl_s
        self.refresh = refresh
        self.blocked = blocked
        self.clock = clock
        self.sleep = sleep
        self.requests = 0
        self.retry_after: float | None = None  # a wait the host asked for while listing
        self._last_request: float | None = None

    def _path(self, year: int) -> Path:
        return self.cache_dir / f"{year:04d}.json"

    def _cached(self, year: int) -> list[DumpFile] | None:
        path = self._path(year)
        if self.refresh or not path.exists():
            return None
        data = json.loads(path.read_text())
        now = self.clock()
        current = datetime.fromtimestamp(now, UTC).year
        if year >= current and now - data["fetched_at"] > self.current_ttl_s:
            return None
        return [file_from_dict(f) for f in data["files"]]

    def get(self, year: int) -> list[DumpFile] | str:
        """The year's listed files, or why they are not available."""
        cached = self._cached(year)
        if cached is not None:
            return cached
        if self.blocked is not None:
            return self.blocked
        if self._last_request is not None:
            wait = self._last_request + self.min_interval_s - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_request = self.clock()
        before = self.source.requests
        try:
            files = self.source.list_year(year)
        except RetryableError as exc:
            if exc.retry_after is not None:
                self.retry_after = exc.retry_after
                self.blocked = f"the dump host asked us to wait {exc.retry_after:.0f} s: {exc}"
                return self.blocked
            return f"listing of {year} failed: {exc}"
        except PipelineError as exc:
            return f"listing of {year} failed: {exc}"
        finally:
            self.requests += self.source.requests - before
        if self.source.requests > before:  # a local directory is listed for free: no cache
            body = {"fetched_at": self.clock(), "files": [file_to_dict(f) for f in files]}
            write_bytes_atomic(self._path(year), json.dumps(body, indent=1).encode())
        return files
