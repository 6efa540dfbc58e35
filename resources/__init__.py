"""Resources built from the environment (see the README's configuration table)."""

from __future__ import annotations

from typing import Any

from discogs_assets.lib.caches import LML_REFRESH_BATCH_CAP
from discogs_assets.lib.envvars import env_number
from resources.caches import CacheRefreshResource
from resources.dump_source import DumpSourceResource
from resources.env import env_flag, env_int, env_or
from resources.gate import IngestionGateResource
from resources.settings import DEFAULT_DATA_DIR, PipelineSettings
from resources.warehouse import WarehouseResource

PRODUCTION_DUMPS_URL = "https://data.discogs.com/"


def build_resources() -> dict[str, Any]:
    """Every resource the definitions use, configured from ``DISCOGS_*``, ``LML_*`` variables."""
    data_dir = env_or("DISCOGS_DATA_DIR", DEFAULT_DATA_DIR)
    warehouse = WarehouseResource(url=env_or("DISCOGS_WAREHOUSE_URL", ""), data_dir=data_dir)
    return {
        "settings": PipelineSettings(data_dir=data_dir),
        "warehouse": warehouse,
        "dump_source": DumpSourceResource(
            url=env_or("DISCOGS_DUMPS_URL", PRODUCTION_DUMPS_URL),
            max_retry_after_seconds=env_number("DISCOGS_MAX_RETRY_AFTER_SECONDS", 600.0),
        ),
        "gate": IngestionGateResource(
            enabled_by_env=env_flag("DISCOGS_INGESTION_ENABLED"), warehouse=warehouse
        ),
        "cache_refresh": CacheRefreshResource(
            base_url=env_or("LML_BASE_URL", ""),
            api_key=env_or("LML_API_KEY", ""),
            batch_size=env_int("LML_REFRESH_BATCH_SIZE", LML_REFRESH_BATCH_CAP),
            batches_per_minute=env_number("LML_BATCHES_PER_MINUTE", 20),
            concurrency=env_int("LML_CONCURRENCY", 3),
            batch_timeout_s=env_number("LML_BATCH_TIMEOUT_S", 360),
            dry_run=env_flag("LML_DRY_RUN"),
        ),
    }
