"""Asset checks on real data: the real 2020-08-06 sample dump through the whole monthly job,
then each check failing on a doctored copy of that real output."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from discogs_assets.definitions import defs
from discogs_assets.defs.parsing import parsed_results
from discogs_assets.lib.layout import parsed_dir, raw_dir
from discogs_assets.lib.lifecycle import MonthLifecycle
from discogs_assets.lib.parsing import PARSER_VERSION
from discogs_assets.lib.tables import ENTITIES
from discogs_assets.lib.warehouse import make_engine, quality
from sensors.alerts import check_failure_alert
from tests.acquisition_helpers import SAMPLE_MONTH, build_mirror
from tests.orchestration_helpers import SentryStandIn

NEXT = "2020-09"


@dataclass
class RealRun:
    data_dir: Path
    warehouse_url: str
    result: dg.ExecuteInProcessResult
    definitions: dg.Definitions
    instance: dg.DagsterInstance

    def processing(self) -> MonthLifecycle:
        return MonthLifecycle(make_engine(self.warehouse_url))


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory, sample_dumps: Path) -> Iterator[RealRun]:
    root = tmp_path_factory.mktemp("real")
    mirror = build_mirror(root / "mirror", sample_dumps)
    url = f"sqlite:///{root / 'warehouse.sqlite'}"
    with pytest.MonkeyPatch.context() as mp, dg.instance_for_test() as instance:
        mp.setenv("DISCOGS_DATA_DIR", str(root / "data"))
        mp.setenv("DISCOGS_DUMPS_URL", mirror.root.as_uri())
        mp.setenv("DISCOGS_WAREHOUSE_URL", url)
        mp.setenv("DISCOGS_INGESTION_ENABLED", "true")
        mp.delenv("SENTRY_DSN", raising=False)
        definitions = defs()
        result = definitions.resolve_job_def("discogs_monthly").execute_in_process(
            partition_key=SAMPLE_MONTH, instance=instance, raise_on_error=False)
        yield RealRun(root / "data", url, result, definitions, instance)


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e
            for e in result.get_asset_check_evaluations()}


def test_real_month_passes_every_blocking_check(real_run: RealRun) -> None:
    failures = [f"{e.step_key}: {e.message}" for e in real_run.result.all_events if e.is_failure]
    assert real_run.result.success, failures
    evaluations = _evaluations(real_run.result)
    for entity in ENTITIES:
        for name in (f"raw_{entity}:sha256_verified", f"parsed_{entity}:non_empty",
                     f"parsed_{entity}:count_drift", f"parsed_{entity}:schema_and_unique_keys",
                     f"parsed_{entity}:missing_key_fields"):
            assert evaluations[name].passed, (name, evaluations[name].description)
            assert evaluations[name].partition == SAMPLE_MONTH
    assert evaluations["warehouse_releases:health_views_agree"].passed
    assert evaluations["discogs_checksum:latest_month_fresh"].passed
    row = real_run.processing().get(SAMPLE_MONTH)
    assert str(row["status"]) == "completed" and row["parser_version"] == PARSER_VERSION


def test_referential_integrity_warns_on_the_real_sample(real_run: RealRun) -> None:
    # The sample is 1,000 scattered records per kind: releases point at labels and artists
    # outside it, which the check counts as a warning (kept as data, not blocking).
    evaluations = _evaluations(real_run.result)
    evaluation = evaluations["warehouse_releases:referential_integrity"]
    assert not evaluation.passed
    assert evaluation.severity is dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["dangling"].value > 0
    engine = make_engine(real_run.warehouse_url)
    assert quality.dangling_counts(engine, "releases")["release_label.label_id"] > 0
    for entity in ENTITIES:  # the load's own count is the state's, as a full recount says
        by_column = evaluations[f"warehouse_{entity}:referential_integrity"].metadata["by_column"]
        assert by_column.value == quality.dangling_counts(engine, entity), entity


def _materialize(real_run: RealRun, asset: str) -> dg.ExecuteInProcessResult:
    job = real_run.definitions.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(partition_key=SAMPLE_MONTH, instance=real_run.instance,
                                  asset_selection=[dg.AssetKey(asset)], raise_on_error=False)


def test_sha256_check_is_the_download_hash_and_a_changed_file_is_fetched_again(
    real_run: RealRun
) -> None:
    first = _evaluations(real_run.result)["raw_labels:sha256_verified"]
    target = raw_dir(real_run.data_dir, SAMPLE_MONTH) / first.metadata["file"].value
    assert first.metadata["sha256"].value == first.metadata["expected"].value
    # Unchanged since the download recorded its hash: verified again without reading it.
    again = _materialize(real_run, "raw_labels")
    [evaluation] = again.get_asset_check_evaluations()
    [materialization] = again.get_asset_materialization_events()
    assert evaluation.passed and materialization.materialization.metadata[
        "skipped_already_verified"].value is True
    # A file changed on disk no longer verifies: it is fetched again, and the check passes on
    # the fresh copy.
    original = target.read_bytes()
    target.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
    fixed = _materialize(real_run, "raw_labels")
    [evaluation] = fixed.get_asset_check_evaluations()
    [materialization] = fixed.get_asset_materialization_events()
    assert evaluation.passed and materialization.materialization.metadata[
        "skipped_already_verified"].value is False
    assert target.read_bytes() == original


def _doctor(real_run: RealRun, entity: str, change: pl.DataFrame | None = None) -> None:
    """Give NEXT the real parsed output of SAMPLE_MONTH, with the root table replaced."""
    source = parsed_dir(real_run.data_dir, SAMPLE_MONTH, entity)
    target = parsed_dir(real_run.data_dir, NEXT, entity)
    target.mkdir(parents=True, exist_ok=True)
    for table in source.glob("*.parquet"):
        (target / table.name).write_bytes(table.read_bytes())
    if change is not None:
        change.write_parquet(target / f"{entity[:-1]}.parquet")


def _results(real_run: RealRun, entity: str) -> dict[str, dg.AssetCheckResult]:
    results = parsed_results(entity, NEXT, real_run.data_dir, real_run.processing())
    return {r.check_name: r for r in results}


def _root(real_run: RealRun, entity: str) -> pl.DataFrame:
    return pl.read_parquet(parsed_dir(real_run.data_dir, SAMPLE_MONTH, entity)
                           / f"{entity[:-1]}.parquet")


def test_zero_records_is_a_failure_never_a_success(real_run: RealRun) -> None:
    _doctor(real_run, "labels", _root(real_run, "labels").head(0))
    results = _results(real_run, "labels")
    assert not results["non_empty"].passed
    assert "0 records" in (results["non_empty"].description or "")
    assert not results["count_drift"].passed  # 1,000 -> 0


def test_count_drift_beyond_the_fraction_fails(real_run: RealRun,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    artists = _root(real_run, "artists")
    _doctor(real_run, "artists", artists.head(850))
    results = _results(real_run, "artists")
    assert results["non_empty"].passed and not results["count_drift"].passed
    assert "-15.00%" in (results["count_drift"].description or "")
    monkeypatch.setenv("DISCOGS_MAX_COUNT_DRIFT", "0.2")  # configurable
    assert _results(real_run, "artists")["count_drift"].passed


def test_count_drift_falls_back_to_recorded_counts_once_retention_deleted_the_output(
    real_run: RealRun, tmp_path: Path
) -> None:
    """Retention may delete the previous month's parsed output: the drift check then compares
    against the record count its parse step recorded in the processing table."""
    artists = _root(real_run, "artists")
    only_next = tmp_path / "data"  # holds NEXT's parsed output, not SAMPLE_MONTH's
    target = parsed_dir(only_next, NEXT, "artists")
    target.mkdir(parents=True)
    for table in parsed_dir(real_run.data_dir, SAMPLE_MONTH, "artists").glob("*.parquet"):
        (target / table.name).write_bytes(table.read_bytes())
    artists.head(850).write_parquet(target / "artist.parquet")
    results = {r.check_name: r for r in parsed_results("artists", NEXT, only_next,
                                                         real_run.processing())}
    drift = results["count_drift"]
    assert drift.metadata["previous_records"].value == artists.height  # recorded: 1,000
    assert not drift.passed and "-15.00%" in (drift.description or "")


def test_duplicate_ids_fail_schema_and_unique_keys(real_run: RealRun) -> None:
    masters = _root(real_run, "masters")
    _doctor(real_run, "masters", pl.concat([masters, masters.head(3)]))
    results = _results(real_run, "masters")
    assert not results["schema_and_unique_keys"].passed
    assert "3 duplicate unique key(s)" in (results["schema_and_unique_keys"].description or "")
    assert results["count_drift"].passed  # +0.3 %: only the keys are wrong


def test_missing_names_warn(real_run: RealRun) -> None:
    labels = _root(real_run, "labels")
    blank = labels.with_columns(
        pl.when(pl.int_range(pl.len()) < 50).then(None).otherwise(pl.col("name")).alias("name"))
    _doctor(real_run, "labels", blank)
    result = _results(real_run, "labels")["missing_key_fields"]
    assert not result.passed and result.severity is dg.AssetCheckSeverity.WARN
    assert result.metadata["missing"].value >= 50


def test_health_view_disagreement_is_reported(real_run: RealRun, tmp_path: Path) -> None:
    engine = make_engine(real_run.warehouse_url)
    assert quality.health_view_mismatches(engine) == []
    with engine.begin() as conn:  # a broken edit of a view (it lost its filter)
        conn.execute(sa.text("DROP VIEW v_failed_months"))
        conn.execute(sa.text("CREATE VIEW v_failed_months AS SELECT month FROM "
                             "discogs_data_processing"))
    try:
        problems = quality.health_view_mismatches(engine)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP VIEW v_failed_months"))
            conn.execute(sa.text("CREATE VIEW v_failed_months AS SELECT month FROM "
                                 "discogs_data_processing WHERE status = 'failed'"))
    assert problems and "v_failed_months lists ['2020-08']" in problems[0]


def test_check_failure_sensor_alerts_each_failed_evaluation_once(
    real_run: RealRun, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentry = SentryStandIn(httpserver)
    monkeypatch.setenv("SENTRY_DSN", sentry.dsn)
    with dg.build_sensor_context(instance=real_run.instance,
                                 definitions=real_run.definitions) as context:
        first = check_failure_alert(context)
    events = sentry.events()
    failed = {e["tags"]["asset"] for e in events}
    # The real sample's dangling references are warnings: alerted, though they block nothing.
    assert "warehouse_releases" in failed
    assert all(e["tags"]["month"] == SAMPLE_MONTH for e in events)
    assert {e["level"] for e in events} == {"warning"}
    with dg.build_sensor_context(instance=real_run.instance, definitions=real_run.definitions,
                                 cursor=first.cursor) as context:
        second = check_failure_alert(context)
    assert len(sentry.events()) == len(events)  # nothing new: nothing sent again
    assert "no new failed checks" in second.skip_reason.skip_message
