"""Retry sensor timing and exhaustion, the gate watch, and the daily schedule's ticks."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import time_machine

from discogs_assets.lib.lifecycle import CHECKSUM_STEP, Stage
from schedules.daily import daily_current_month
from sensors.gate_watch import gate_watch_sensor
from sensors.retry import retry_sensor
from tests.lifecycle_helpers import drive_to
from tests.orchestration_helpers import Env, add_run, make_env

MONTH = "2026-02"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:  # persistent: schedule contexts need an instance ref
        yield inst


def _retry_tick(env: Env, instance: dg.DagsterInstance, cursor: str | None = None,
                at: datetime = T0) -> dg.SensorResult:
    with time_machine.travel(at, tick=False), dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=env.resources()
    ) as context:
        return retry_sensor(context)


def _fail(env: Env, *, retryable: bool = True, at: datetime = T0, error: str = "HTTP 503") -> None:
    with time_machine.travel(at, tick=False):
        env.lifecycle().record_failure(MONTH, error=error, retryable=retryable, run_id="r0")


def test_retry_waits_for_the_backoff_then_requests_once(env: Env,
                                                        instance: dg.DagsterInstance) -> None:
    _fail(env)
    early = _retry_tick(env, instance, at=T0 + timedelta(minutes=4))
    assert not early.run_requests
    assert "attempt 2 due at 2026-03-02T12:05:00+00:00" in early.skip_reason.skip_message
    row = env.warehouse.processing().get(MONTH)
    assert row["next_retry_at"] == T0 + timedelta(minutes=5)  # visible to admins

    due = _retry_tick(env, instance, at=T0 + timedelta(minutes=5))
    [request] = due.run_requests
    assert request.partition_key == MONTH and request.tags["discogs/attempt"] == "2"
    # The second retry waits 25 minutes after the retry's own failure.
    table = env.lifecycle()
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        table.start_stage(MONTH, CHECKSUM_STEP, Stage.DOWNLOAD, run_id="r1")  # the retry starts
        assert table.get(MONTH)["retry_count"] == 1  # counted in the processing table
        table.record_failure(MONTH, error="HTTP 503 again", retryable=True, run_id="r1")
    wait = _retry_tick(env, instance, at=T0 + timedelta(minutes=30))
    assert not wait.run_requests and "12:31:00" in wait.skip_reason.skip_message
    second = _retry_tick(env, instance, at=T0 + timedelta(minutes=31))
    assert second.run_requests[0].run_key != request.run_key


def test_no_retry_while_a_run_for_the_month_is_active(env: Env,
                                                      instance: dg.DagsterInstance) -> None:
    _fail(env)
    add_run(instance, MONTH, dg.DagsterRunStatus.QUEUED)
    result = _retry_tick(env, instance, at=T0 + timedelta(hours=1))
    assert not result.run_requests and "in progress" in result.skip_reason.skip_message


def test_non_retryable_failures_are_never_retried(env: Env,
                                                  instance: dg.DagsterInstance) -> None:
    _fail(env, retryable=False, error="no dump published for 2026-02")
    result = _retry_tick(env, instance, at=T0 + timedelta(days=3))
    assert not result.run_requests
    assert "non-retryable reason: no dump published" in result.skip_reason.skip_message


def test_exhausted_after_five_attempts_alerts_once(
    env: Env, instance: dg.DagsterInstance, capfd: pytest.CaptureFixture[str]
) -> None:
    table = env.lifecycle()
    _fail(env)
    for attempt in range(1, 5):
        with time_machine.travel(T0 + timedelta(hours=attempt), tick=False):
            table.start_stage(MONTH, CHECKSUM_STEP, Stage.DOWNLOAD, run_id=f"r{attempt}")
            table.record_failure(MONTH, error=f"HTTP 503 #{attempt}", retryable=True,
                                 run_id=f"r{attempt}")
    assert table.get(MONTH)["retry_count"] == 4
    later = T0 + timedelta(days=2)
    first = _retry_tick(env, instance, at=later)
    assert not first.run_requests
    assert "5 of 5 attempts failed" in first.skip_reason.skip_message
    alerts = _alert_lines(capfd.readouterr().err)
    assert len(alerts) == 1 and alerts[0]["kind"] == "retries_exhausted"
    assert alerts[0]["attempt"] == 5 and alerts[0]["month"] == MONTH
    _retry_tick(env, instance, cursor=first.cursor, at=later + timedelta(minutes=1))
    assert _alert_lines(capfd.readouterr().err) == []


def _alert_lines(stderr: str) -> list[dict]:
    """The structured alert lines Dagster's logger wrote."""
    return [json.loads(line[line.index("{"):]) for line in stderr.splitlines()
            if '"event": "discogs_alert"' in line]


def test_retry_sensor_skips_while_gated(env: Env, instance: dg.DagsterInstance) -> None:
    _fail(env)
    env.flip(False)
    result = _retry_tick(env, instance, at=T0 + timedelta(hours=1))
    assert not result.run_requests
    assert "Discogs ingestion is gated" in result.skip_reason.skip_message


def _gate_tick(env: Env, instance: dg.DagsterInstance) -> dg.SkipReason:
    with dg.build_sensor_context(instance=instance, resources=env.resources()) as context:
        return gate_watch_sensor(context)


def test_gate_off_cancels_queued_runs_and_they_resume_when_on(
    env: Env, instance: dg.DagsterInstance
) -> None:
    queued = add_run(instance, MONTH, dg.DagsterRunStatus.QUEUED)
    started = add_run(instance, "2026-01", dg.DagsterRunStatus.STARTED)
    assert "gate is on" in _gate_tick(env, instance).skip_message
    assert instance.get_run_by_id(queued.run_id).status is dg.DagsterRunStatus.QUEUED

    env.flip(False)
    skip = _gate_tick(env, instance)
    assert "cancelled 1 queued run(s) for 2026-02" in skip.skip_message
    assert instance.get_run_by_id(queued.run_id).status is dg.DagsterRunStatus.CANCELED
    # A started run stops by itself in its first step; it is not cancelled from here.
    assert instance.get_run_by_id(started.run_id).status is dg.DagsterRunStatus.STARTED
    row = env.warehouse.processing().get(MONTH)
    assert row["gate_disabled"] and row["gate_note"].startswith("gate disabled")
    assert str(row["status"]) == "failed" and row["failure_retryable"] is False

    # Not retried while off (the sensor skips), re-requested once it is on again.
    assert not _retry_tick(env, instance, at=datetime.now(UTC) + timedelta(days=1)).run_requests
    env.flip(True)
    result = _retry_tick(env, instance, at=datetime.now(UTC) + timedelta(minutes=1))
    [request] = result.run_requests
    assert request.partition_key == MONTH and ":retry:gate:" in request.run_key
    assert not env.warehouse.processing().get(MONTH)["gate_disabled"]


def _schedule_tick(env: Env, instance: dg.DagsterInstance, at: datetime
                   ) -> dg.RunRequest | dg.SkipReason:
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=at,
                                   resources=env.resources()) as context:
        return daily_current_month(context)


def test_schedule_cron_is_daily_0200_utc() -> None:
    assert daily_current_month.cron_schedule == "0 2 * * *"
    assert daily_current_month.execution_timezone == "UTC"
    assert daily_current_month.job_name == "discogs_monthly"


def test_schedule_first_day_mid_month_and_complete(env: Env,
                                                   instance: dg.DagsterInstance) -> None:
    first_day = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    request = _schedule_tick(env, instance, first_day)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-04"  # the current month: end_offset=1 makes it a key
    assert request.run_key == "2026-04:daily:2026-04-01"

    mid_month = datetime(2026, 4, 15, 2, 0, tzinfo=UTC)
    env.lifecycle().record_failure("2026-04", error="no dump published for 2026-04",
                                   retryable=False)
    request = _schedule_tick(env, instance, mid_month)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2026-04"
    add_run(instance, "2026-04", dg.DagsterRunStatus.STARTED)
    busy = _schedule_tick(env, instance, mid_month + timedelta(days=1))
    assert isinstance(busy, dg.SkipReason) and "in progress" in busy.skip_message

    drive_to(env.lifecycle(), "2026-05", "completed")
    done = _schedule_tick(env, instance, datetime(2026, 5, 20, 2, 0, tzinfo=UTC))
    assert isinstance(done, dg.SkipReason) and "2026-05 is complete" in done.skip_message


def test_schedule_skips_while_gated(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    env = make_env(tmp_path, gate=False)
    skip = _schedule_tick(env, instance, datetime(2026, 4, 1, 2, 0, tzinfo=UTC))
    assert isinstance(skip, dg.SkipReason)
    assert "Discogs ingestion is gated" in skip.skip_message
    assert env.warehouse.processing().all() == []
