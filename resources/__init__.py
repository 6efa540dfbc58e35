"""Resources built from the project's settings (see the README's configuration table)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from discogs_assets.lib.settings import Settings
from resources.caches import CacheRefreshResource
from resources.dump_source import DumpSourceResource
from resources.gate import IngestionGateResource
from resources.settings import PipelineSettings
from resources.warehouse import WarehouseResource


def _secret(settings: Settings, env: str, value: str) -> Any:
    """A secret goes in as an ``EnvVar`` (resolved at run time, never shown in the UI)."""
    assert env in Settings.secret_variables()
    return dg.EnvVar(env) if value else ""


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    """Every resource the definitions use, from ``settings`` (default: the environment)."""
    s = settings or Settings.from_env()
    data_dir = str(s.data_dir)
    warehouse = WarehouseResource(
        url=_secret(s, "DISCOGS_WAREHOUSE_URL", s.warehouse_url), data_dir=data_dir,
        track_title_index=s.track_title_index)
    return {
        "settings": PipelineSettings(data_dir=data_dir),
        "warehouse": warehouse,
        "dump_source": DumpSourceResource(url=s.dumps_url,
                                          max_retry_after_seconds=s.max_retry_after_s),
        "gate": IngestionGateResource(enabled_by_env=s.ingestion_enabled, warehouse=warehouse),
        "cache_refresh": CacheRefreshResource(
            base_url=s.lml_base_url,
            api_key=_secret(s, "LML_API_KEY", s.lml_api_key),
            batch_size=s.lml_batch_size,
            batches_per_minute=s.lml_batches_per_minute,
            concurrency=s.lml_concurrency,
            batch_timeout_s=s.lml_batch_timeout_s,
            dry_run=s.lml_dry_run,
        ),
    }
