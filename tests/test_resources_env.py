"""Resources are configured from the environment, and secrets stay EnvVars."""

from __future__ import annotations

import dagster as dg
import pytest

from discogs_assets.lib.caches import RemoteRefreshConfigError
from resources import build_resources


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISCOGS_DATA_DIR", "DISCOGS_WAREHOUSE_URL", "DISCOGS_DUMPS_URL",
                 "DISCOGS_INGESTION_ENABLED", "LML_BASE_URL", "LML_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    res = build_resources()
    assert res["settings"].data_dir == "data"
    assert res["warehouse"].resolved_url.endswith("/data/warehouse.sqlite")
    assert res["gate"].enabled_by_env is False
    assert res["cache_refresh"].enabled is False


def test_secrets_are_env_vars_not_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LML_BASE_URL", "https://lml.example.org")
    monkeypatch.setenv("LML_API_KEY", "s3cret")
    monkeypatch.setenv("DISCOGS_WAREHOUSE_URL", "postgresql+psycopg://u:pw@db/warehouse")
    res = build_resources()
    assert isinstance(res["cache_refresh"].api_key, dg.EnvVar)
    assert isinstance(res["warehouse"].url, dg.EnvVar)


def test_a_batch_size_above_the_cap_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LML_BASE_URL", "https://lml.example.org")
    monkeypatch.setenv("LML_API_KEY", "k")
    monkeypatch.setenv("LML_REFRESH_BATCH_SIZE", "51")
    monkeypatch.setenv("LML_BATCHES_PER_MINUTE", "5")
    resource = build_resources()["cache_refresh"]
    # EnvVar fields resolve when a run initialises the resource; do the same here.
    with dg.build_resources({"cache_refresh": resource}) as built:
        assert built.cache_refresh.batches_per_minute == 5
        with pytest.raises(RemoteRefreshConfigError, match="50"):
            built.cache_refresh.config()
