"""Retention after a completed month, the daily summary with freshness, and the definitions."""

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import time_machine

from discogs_assets.lib.parsing import PARSER_VERSION
from sensors.daily_summary import daily_summary
from sensors.retention import raw_retention
from tests.lifecycle_helpers import drive_to
from tests.orchestration_helpers import Env, add_run, make_env

NOW = datetime(2026, 3, 20, 6, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def _month_dirs(env: Env, months: list[str]) -> tuple[Path, Path]:
    """Raw and parsed directories of ``months`` as the steps leave them."""
    raw, parsed = env.settings.data_path / "raw", env.settings.data_path / "parsed"
    for month in months:
        (raw / month).mkdir(parents=True)
        (raw / month / f"discogs_{month.replace('-', '')}01_labels.xml.gz").write_bytes(b"gz")
        (parsed / month / "labels").mkdir(parents=True)
        (parsed / month / "labels" / "label.parquet").write_bytes(b"pq")
    return raw, parsed


def _names(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def _after_success(env: Env, instance: dg.DagsterInstance, job_name: str = "discogs_monthly"
                   ) -> None:
    run = add_run(instance, "2026-03", dg.DagsterRunStatus.SUCCESS, job_name=job_name)
    event = dg.DagsterEvent("PIPELINE_SUCCESS", job_name=job_name)
    context = dg.build_run_status_sensor_context(
        sensor_name="discogs_raw_retention", dagster_event=event, dagster_instance=instance,
        dagster_run=run, resources={"settings": env.settings, "warehouse": env.warehouse})
    raw_retention(context)


def _months_in_states(env: Env, states: dict[str, str]) -> None:
    lifecycle = env.lifecycle()
    for month, status in states.items():
        drive_to(lifecycle, month, status)


def test_retention_deletes_only_loaded_months_and_never_one_in_use(
    env: Env, instance: dg.DagsterInstance, capfd: pytest.CaptureFixture[str]
) -> None:
    months = ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    raw, parsed = _month_dirs(env, months)
    (raw / "lost+found").mkdir()  # not ours
    _months_in_states(env, {"2025-10": "completed", "2025-11": "failed",
                            "2025-12": "processing", "2026-01": "completed",
                            "2026-02": "completed", "2026-03": "completed"})
    add_run(instance, "2026-01", dg.DagsterRunStatus.STARTED)  # a backfill reads 2026-01
    _after_success(env, instance)
    # Raw (newest 2 kept): only 2025-10 was loaded, is beyond the window and unused.
    assert _names(raw) == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "lost+found"]
    # Parsed (newest 3 kept): the same, for the months beyond 2026-01.
    assert _names(parsed) == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    err = capfd.readouterr().err
    assert "deleted raw 2025-10; deleted parsed 2025-10" in err
    assert "kept, not loaded yet: 2025-11 (failed), 2025-12 (processing)" in err
    assert "kept, a run uses them: 2026-01" in err


def test_retention_keeps_the_current_parsed_month_and_zero_keeps_all(
    env: Env, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, parsed = _month_dirs(env, ["2026-01", "2026-02", "2026-03"])
    _months_in_states(env, {"2026-01": "completed", "2026-02": "completed",
                            "2026-03": "failed"})
    monkeypatch.setenv("DISCOGS_KEEP_RAW_MONTHS", "0")
    monkeypatch.setenv("DISCOGS_KEEP_PARSED_MONTHS", "1")
    _after_success(env, instance)
    assert _names(raw) == ["2026-01", "2026-02", "2026-03"]  # 0 keeps everything
    # Newest 1 is the failed 2026-03; 2026-02 is the warehouse's current month: both stay.
    assert _names(parsed) == ["2026-02", "2026-03"]


@pytest.mark.parametrize(("job_name", "runs"), [("__ASSET_JOB", True),
                                                ("warehouse_schema_job", False)])
def test_retention_after_monthly_runs_launched_from_asset_pages_only(
    env: Env, instance: dg.DagsterInstance, job_name: str, runs: bool
) -> None:
    raw, _ = _month_dirs(env, ["2025-12", "2026-01", "2026-02"])
    _months_in_states(env, {"2025-12": "completed"})
    _after_success(env, instance, job_name=job_name)
    assert ("2025-12" not in _names(raw)) is runs


def test_retention_failure_is_logged_never_fatal(env: Env, instance: dg.DagsterInstance,
                                                 capfd: pytest.CaptureFixture[str]) -> None:
    raw, _ = _month_dirs(env, ["2025-12", "2026-01", "2026-02"])
    elsewhere = env.settings.data_path / "other-disk"
    elsewhere.mkdir()
    (raw / "2025-11").symlink_to(elsewhere, target_is_directory=True)  # rmtree refuses links
    _months_in_states(env, {"2025-11": "completed"})
    _after_success(env, instance)  # does not raise
    assert _names(raw) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert "could not delete raw 2025-11" in capfd.readouterr().err


def _summary_tick(env: Env, instance: dg.DagsterInstance) -> dg.SensorResult:
    with time_machine.travel(NOW, tick=False), dg.build_sensor_context(
        instance=instance, resources=env.resources()
    ) as context:
        return daily_summary(context)


def test_daily_summary_lists_failed_pending_stale_and_older_parser(
    env: Env, instance: dg.DagsterInstance
) -> None:
    table = env.lifecycle()
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        drive_to(table, "2026-02", "downloading")  # stuck for two days: stale
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        table.record_failure("2026-01", error="HTTP 503", retryable=True)
        drive_to(table, "2025-12", "completed", parser_version="0")
    result = _summary_tick(env, instance)
    text = result.skip_reason.skip_message
    assert "failed: 2026-01" in text and "pending: 2026-02" in text
    assert "stale: 2026-02" in text
    if PARSER_VERSION != "0":
        assert "parsed by an older parser: 2025-12" in text
    [evaluation] = result.asset_events
    assert evaluation.check_name == "latest_month_fresh" and evaluation.passed  # none seen yet


@pytest.mark.parametrize(("min_free_gb", "alerted"), [("1000000", True), ("0", False)])
def test_daily_summary_reports_free_disk_and_warns_below_the_minimum(
    env: Env, instance: dg.DagsterInstance, capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, min_free_gb: str, alerted: bool
) -> None:
    monkeypatch.setenv("DISCOGS_MIN_FREE_DISK_GB", min_free_gb)  # a petabyte, or nothing
    assert not env.settings.data_path.exists()  # measured on the disk it will be made on
    result = _summary_tick(env, instance)
    assert re.search(r"; free disk: [0-9.]+ [KMG]?B of [0-9.]+ [KMG]?B",
                     result.skip_reason.skip_message)
    lines = [json.loads(line[line.index("{"):]) for line in capfd.readouterr().err.splitlines()
             if '"event": "discogs_alert"' in line]
    [summary] = [a for a in lines if a["kind"] == "summary"]
    free = shutil.disk_usage(tmp_path).free
    assert abs(summary["extra"]["free_disk_bytes"] - free) < 0.05 * free + 10**8
    assert summary["extra"]["free_disk"].endswith("B")
    low = [a for a in lines if a["kind"] == "disk_low"]
    assert bool(low) is alerted
    if alerted:
        assert low[0]["level"] == "warning" and str(env.settings.data_path) in low[0]["message"]
        assert "below the 1000000.0 GB minimum" in result.skip_reason.skip_message


@pytest.mark.parametrize(("age_days", "completed", "passed"),
                         [(1, False, True), (4, False, False), (4, True, True)])
def test_freshness_of_the_latest_published_month(
    env: Env, instance: dg.DagsterInstance, capfd: pytest.CaptureFixture[str],
    age_days: int, completed: bool, passed: bool
) -> None:
    table = env.lifecycle()
    appeared = NOW - timedelta(days=age_days)
    with time_machine.travel(appeared, tick=False):
        table.record_checksum_seen("2026-03", sha256="ab" * 32, listed_at=appeared,
                                   seen_at=appeared)
        if completed:
            drive_to(table, "2026-03", "completed")
    result = _summary_tick(env, instance)
    [evaluation] = result.asset_events
    assert evaluation.passed is passed, evaluation.description
    assert evaluation.metadata["month"].value == "2026-03"
    alerts = [json.loads(line[line.index("{"):]) for line in capfd.readouterr().err.splitlines()
              if '"kind": "freshness"' in line]
    assert bool(alerts) is not passed


def test_definitions_carry_the_sensors_schedule_and_backfill_policy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from discogs_assets.definitions import defs

    monkeypatch.setenv("DISCOGS_DATA_DIR", str(tmp_path))
    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    names = {s.name for s in definitions.sensors or []}
    assert names == {"discogs_new_dump", "discogs_retry_failed_months", "discogs_gate_watch",
                     "discogs_run_failure_alert", "discogs_check_failure_alert",
                     "discogs_raw_retention", "discogs_daily_summary"}
    new_dump = next(s for s in definitions.sensors or [] if s.name == "discogs_new_dump")
    assert new_dump.minimum_interval_seconds == 6 * 3600  # DISCOGS_NEW_DUMP_INTERVAL_SECONDS
    assert {s.name for s in definitions.schedules or []} == {"discogs_daily_current_month"}
    graph = definitions.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.partitions_def is not None:
            assert node.backfill_policy == dg.BackfillPolicy.multi_run(1), key
    for entity in ("labels", "artists", "masters", "releases"):  # backfill downloads capped
        assert set(graph.get(dg.AssetKey(f"raw_{entity}")).pools) == {"discogs_downloads"}


def test_cli_backfill_queues_one_run_per_month(tmp_path: Path) -> None:
    """The README's command line backfill: one queued run per month of the range."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster.core.run_coordinator\n"
        "  class: QueuedRunCoordinator\ntelemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "DISCOGS_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "job", "backfill", "-w", "workspace.yaml",
         "-j", "discogs_monthly", "--from", "2025-01", "--to", "2025-03", "--noprompt"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = [r.dagster_run for r in instance.get_run_records()]
    assert sorted(r.tags["dagster/partition"] for r in runs) == ["2025-01", "2025-02", "2025-03"]
    assert {r.status for r in runs} == {dg.DagsterRunStatus.QUEUED}
    assert len({r.tags["dagster/backfill"] for r in runs}) == 1
