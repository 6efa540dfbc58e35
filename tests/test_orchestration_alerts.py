"""Alerts through the Sentry SDK's real transport to a local HTTP stand-in, on real failed runs;
the gate stopping a launched run before any request or write."""

import gzip
import hashlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from discogs_assets.definitions import defs
from discogs_assets.lib.acquisition.mirror_server import MirrorServer
from discogs_assets.lib.lifecycle import MonthLifecycle
from discogs_assets.lib.orchestration.alerts import Alert
from discogs_assets.lib.warehouse import make_engine
from resources.alerts import send_alert
from sensors.alerts import run_failure_alert
from tests.acquisition_helpers import SAMPLE_DATE, build_mirror
from tests.orchestration_helpers import SentryStandIn


@pytest.fixture
def sentry(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> SentryStandIn:
    stand_in = SentryStandIn(httpserver)
    monkeypatch.setenv("SENTRY_DSN", stand_in.dsn)
    return stand_in


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def _defs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dumps_url: str, *,
          gate: bool = True) -> tuple[dg.Definitions, str]:
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("DISCOGS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DISCOGS_DUMPS_URL", dumps_url)
    monkeypatch.setenv("DISCOGS_WAREHOUSE_URL", url)
    monkeypatch.setenv("DISCOGS_INGESTION_ENABLED", "true" if gate else "false")
    return defs(), url


def _run(definitions: dg.Definitions, month: str, instance: dg.DagsterInstance
         ) -> dg.ExecuteInProcessResult:
    return definitions.resolve_job_def("discogs_monthly").execute_in_process(
        partition_key=month, instance=instance, raise_on_error=False)


def _run_failure_tick(definitions: dg.Definitions, result: dg.ExecuteInProcessResult,
                      instance: dg.DagsterInstance) -> None:
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name="discogs_run_failure_alert", dagster_event=failure,
        dagster_instance=instance, dagster_run=run,
        resources={"warehouse": definitions.resources["warehouse"]},
    ).for_run_failure()
    run_failure_alert(context)


def test_send_alert_reaches_sentry_with_tags_and_logs_without_the_dsn(
    sentry: SentryStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    event_id = send_alert(Alert(kind="run_failure", message="boom", month="2026-03",
                                asset="raw_releases", run_id="run-9", attempt=3))
    assert event_id
    [event] = sentry.events()
    assert event["message"] == "boom" or event["logentry"]["message"] == "boom"
    assert event["level"] == "error"
    assert {k: event["tags"][k] for k in ("month", "asset", "run_id", "attempt")} == {
        "month": "2026-03", "asset": "raw_releases", "run_id": "run-9", "attempt": "3"}
    assert any('"event": "discogs_alert"' in r.message for r in caplog.records)
    assert "publickey" not in caplog.text  # the DSN's key never reaches a log


def test_without_dsn_only_the_log_line(monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer,
                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    stand_in = SentryStandIn(httpserver)
    with caplog.at_level(logging.INFO, logger="discogs.alerts"):
        assert send_alert(Alert(kind="summary", level="info", message="all good")) is None
    assert stand_in.events() == []
    assert any('"kind": "summary"' in r.message for r in caplog.records)


def test_failed_run_alerts_with_month_asset_run_and_attempt(
    sentry: SentryStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    sample_dumps: Path, instance: dg.DagsterInstance
) -> None:
    mirror = build_mirror(tmp_path / "mirror", sample_dumps)
    definitions, url = _defs(monkeypatch, tmp_path, mirror.root.as_uri())
    result = _run(definitions, "2022-07", instance)  # the month Discogs never published
    assert not result.success
    row = MonthLifecycle(make_engine(url)).get("2022-07")
    assert str(row["status"]) == "failed" and row["failure_retryable"] is False
    assert "no dump published for 2022-07" in row["last_error"]

    # The step's own exception reached Sentry from inside the run, with its traceback.
    [step_event] = sentry.events()
    [exception] = step_event["exception"]["values"]
    assert "no dump published for 2022-07" in exception["value"]
    assert exception["stacktrace"]["frames"]
    assert {k: step_event["tags"][k] for k in ("month", "asset", "run_id", "attempt")} == {
        "month": "2022-07", "asset": "discogs_checksum", "run_id": result.run_id, "attempt": "1"}

    _run_failure_tick(definitions, result, instance)
    step_again, event = sentry.events()
    assert step_again == step_event and "exception" not in event  # the alert is a message
    assert event["tags"]["month"] == "2022-07"
    assert event["tags"]["asset"] == "discogs_checksum"
    assert event["tags"]["run_id"] == result.run_id
    assert event["tags"]["attempt"] == "1"


def _empty_labels_mirror(root: Path, sample_dumps: Path) -> Path:
    """The real sample dump, except that its labels file holds zero records."""
    mirror = build_mirror(root, sample_dumps, checksum=False)
    name = f"discogs_{SAMPLE_DATE}_labels.xml.gz"
    path = mirror.folder() / name
    path.write_bytes(gzip.compress(b"<labels>\n</labels>\n"))
    mirror.sums[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    mirror.publish_checksum()
    return mirror.root


def test_zero_records_fails_the_run_before_the_warehouse_and_is_not_retried(
    sentry: SentryStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    sample_dumps: Path, instance: dg.DagsterInstance
) -> None:
    root = _empty_labels_mirror(tmp_path / "mirror", sample_dumps)
    definitions, url = _defs(monkeypatch, tmp_path, root.as_uri())
    # The previous month had labels, so the count drifts too: two blocking checks fail in the
    # one step that evaluates them, and the month is still not retried.
    previous = tmp_path / "data" / "parsed" / "2020-07" / "labels"
    previous.mkdir(parents=True)
    pl.DataFrame({"id": [1, 2, 3]}).write_parquet(previous / "label.parquet")
    result = _run(definitions, "2020-08", instance)
    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()
                   if e.asset_key == dg.AssetKey("parsed_labels")}
    assert not evaluations["non_empty"].passed and not evaluations["count_drift"].passed
    executed = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert "warehouse_labels" not in executed  # a bad month never reaches the warehouse

    _run_failure_tick(definitions, result, instance)
    row = MonthLifecycle(make_engine(url)).get("2020-08")
    assert str(row["status"]) == "failed" and row["failure_retryable"] is False
    assert "2 blocking asset checks failed" in row["last_error"]
    assert any(e["tags"]["month"] == "2020-08" for e in sentry.events())


def _has_processing_table(url: str) -> bool:
    return sa.inspect(make_engine(url)).has_table("discogs_data_processing")


def test_gated_run_fails_first_step_before_any_request_or_write(
    sentry: SentryStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    sample_dumps: Path, instance: dg.DagsterInstance
) -> None:
    mirror = build_mirror(tmp_path / "mirror", sample_dumps)
    with MirrorServer(mirror.root) as server:
        definitions, url = _defs(monkeypatch, tmp_path, server.url, gate=False)
        result = _run(definitions, "2020-08", instance)
        assert server.requests == []
    assert not result.success
    failures = [e for e in result.all_events if e.is_failure and e.step_key]
    assert failures and failures[0].step_key == "discogs_checksum"
    assert "Discogs ingestion is gated" in failures[0].event_specific_data.error.message
    assert not _has_processing_table(url)  # not even the schema was written
    assert not (tmp_path / "data" / "raw").exists()
    _run_failure_tick(definitions, result, instance)
    assert sentry.events() == []  # expected while gated: no alert, table untouched
    assert not _has_processing_table(url)
    shutil.rmtree(tmp_path / "mirror")
