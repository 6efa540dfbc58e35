"""deploy/dagster.yaml against the real PostgreSQL server: storage, retries, pools, monitoring,
and a monthly run of the real sample dump recorded there."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from discogs_assets.definitions import defs
from tests.acquisition_helpers import SAMPLE_MONTH, build_mirror

REPO = Path(__file__).resolve().parents[1]


def test_production_instance_runs_the_monthly_job_on_postgres(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_dumps: Path
) -> None:
    url = sa.make_url(pg_url)
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(url.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_USER", url.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    monkeypatch.setenv("DAGSTER_PG_DB", url.database or "")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")

    mirror = build_mirror(tmp_path / "mirror", sample_dumps)
    monkeypatch.setenv("DISCOGS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DISCOGS_DUMPS_URL", mirror.root.as_uri())
    monkeypatch.setenv("DISCOGS_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    monkeypatch.setenv("DISCOGS_INGESTION_ENABLED", "true")

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert instance.run_monitoring_enabled
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 2
        assert config.run_queue_config.max_concurrent_runs == 4

        result = defs().resolve_job_def("discogs_monthly").execute_in_process(
            partition_key=SAMPLE_MONTH, instance=instance, raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        [record] = instance.get_run_records(dg.RunsFilter(job_name="discogs_monthly"))
        assert record.dagster_run.status is dg.DagsterRunStatus.SUCCESS
        [check] = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("raw_releases"), "sha256_verified"), limit=5)
        assert check.partition == SAMPLE_MONTH and check.status.value == "SUCCEEDED"

    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:  # really stored in PostgreSQL, not in DAGSTER_HOME
        runs = conn.execute(sa.text("SELECT count(*) FROM runs")).scalar_one()
    engine.dispose()
    assert runs == 1
    assert not (home / "history").exists()
