"""Settings of the optional remote metadata-lookup cache refresh (``LML_*``)."""

from __future__ import annotations

import dagster as dg

from discogs_assets.lib.caches import LML_REFRESH_BATCH_CAP, RemoteRefreshConfig


class CacheRefreshResource(dg.ConfigurableResource):
    """Remote refresh runs only when ``base_url`` (``LML_BASE_URL``) is set."""

    base_url: str = ""
    api_key: str = ""
    batch_size: int = LML_REFRESH_BATCH_CAP
    batches_per_minute: float = 20
    concurrency: int = 3
    batch_timeout_s: float = 360
    dry_run: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)

    def config(self) -> RemoteRefreshConfig:
        """Validated settings; a batch size above the server's cap refuses to start."""
        return RemoteRefreshConfig(
            base_url=self.base_url,
            api_key=self.api_key,
            batch_size=self.batch_size,
            batches_per_minute=self.batches_per_minute,
            concurrency=self.concurrency,
            batch_timeout_s=self.batch_timeout_s,
            dry_run=self.dry_run,
        )
