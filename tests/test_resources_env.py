"""Resources are configured from the environment, and secrets stay EnvVars."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from discogs_assets.lib.caches import RemoteRefreshConfigError
from resources import build_resources
from resources.warehouse import WarehouseResource


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISCOGS_DATA_DIR", "DISCOGS_WAREHOUSE_URL", "DISCOGS_DUMPS_URL",
                 "DISCOGS_INGESTION_ENABLED", "LML_BASE_URL", "LML_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    res = build_resources()
    assert res["settings"].data_dir == "data"
    assert res["warehouse"].resolved_url.endswith("/data/warehouse.sqlite")
    assert res["gate"].enabled_by_env is False
    assert res["cache_refresh"].enabled is False
    assert res["warehouse"].track_title_index is False


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


@pytest.mark.parametrize("setting", ["true", ""])
def test_track_title_index_setting_reaches_the_schema(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, setting: str) -> None:
    monkeypatch.setenv("DISCOGS_TRACK_TITLE_INDEX", setting)
    monkeypatch.setenv("DISCOGS_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'wh.sqlite'}")
    engine = WarehouseResource.from_environment().migrate()
    assert build_resources()["warehouse"].track_title_index is bool(setting)
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("release_track")}
    assert ("release_track_title_idx" in indexes) is bool(setting)
