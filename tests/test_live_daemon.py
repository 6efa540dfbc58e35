"""The pipeline as operators run it: a real ``dagster-daemon`` on a PostgreSQL instance.

Schedule and sensors switched on, the default multiprocess executor (steps of a month overlap,
each in its own process), a real HTTP dump host publishing while the daemon runs, a Sentry
stand-in. One daemon serves the whole module; each test uses its own month.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from discogs_assets.lib.acquisition.mirror_server import Fault, FaultPlan
from discogs_assets.lib.layout import month_of, previous_month
from discogs_assets.lib.warehouse import make_engine
from tests.conftest import call_failed, pg_database
from tests.live_dagster import (
    LiveDagster,
    prepare_warehouse,
    processing,
    project_env,
    wait_until,
)
from tests.live_mirror import PublishingMirror, sha256_of
from tests.orchestration_helpers import SentryStandIn, sentry_stand_in

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RETRY_AFTER_S = 15
RUN_TIMEOUT_S = 1200  # one month through the multiprocess executor on a busy 2-core machine
STEP_TIMEOUT_S = 900  # from launching a run to one of its later steps starting
ENTITIES = ("labels", "artists", "masters", "releases")


CURRENT = month_of(datetime.now(UTC).date())  # the month the new-dump sensor watches
PREVIOUS = previous_month(CURRENT)


@dataclass
class Live:
    dagster: LiveDagster
    mirror: PublishingMirror
    sentry: SentryStandIn
    warehouse_url: str
    data_dir: Path

    def row(self, month: str) -> dict[str, Any] | None:
        return processing(self.warehouse_url, self.data_dir).get(month)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("live_daemon")
    started = time.monotonic()
    with pg_database() as instance_url, pg_database() as warehouse_url, \
            PublishingMirror(root / "mirror", (PREVIOUS, CURRENT)) as mirror, \
            sentry_stand_in() as sentry:
        prepare_warehouse(warehouse_url, mirror.identities)
        env = project_env(
            data_dir=root / "data", dumps_url=mirror.url, warehouse_url=warehouse_url,
            sentry_dsn=sentry.dsn,
            DISCOGS_RETRY_DELAYS_SECONDS="1",  # the retry sensor's own backoff: at once
            DISCOGS_MAX_RETRY_AFTER_SECONDS="5",  # a longer Retry-After fails the month
        )
        with LiveDagster(root, env, postgres_url=instance_url, run_monitoring=True) as dagster:
            dagster.start_daemon()
            dagster.start_automation()
            print(f"daemon and automation ready in {time.monotonic() - started:.0f} s")
            yield Live(dagster, mirror, sentry, warehouse_url, root / "data")


@pytest.fixture(autouse=True)
def _logs_on_failure(request: pytest.FixtureRequest, live: Live) -> Iterator[None]:
    yield
    if call_failed(request.node):
        print(live.dagster.describe())


def _step_event(live: Live, run_id: str, step_key: str,
                event_type: dg.DagsterEventType) -> dg.DagsterEvent | None:
    """The latest ``event_type`` event of ``step_key`` in ``run_id``."""
    records = live.dagster.instance.get_records_for_run(run_id, of_type=event_type).records
    events = [r.event_log_entry.dagster_event for r in records
              if r.event_log_entry.step_key == step_key]
    return events[-1] if events else None


def _kill_step(live: Live, run_id: str, step_key: str) -> None:
    """SIGKILL the process running ``step_key`` (its pid from STEP_WORKER_STARTED), after
    checking it is a step process started by the daemon."""
    started = _step_event(live, run_id, step_key, dg.DagsterEventType.STEP_WORKER_STARTED)
    assert started is not None and started.pid is not None, f"{step_key} has no process yet"
    assert live.dagster.owns(started.pid), f"{started.pid} is not one of ours"
    assert b"multiprocessing" in Path(f"/proc/{started.pid}/cmdline").read_bytes()
    os.kill(started.pid, signal.SIGKILL)


def _warehouse_counts(url: str) -> dict[str, int]:
    """Present (not tombstoned) records per entity in the current-state tables."""
    engine = make_engine(url)
    with engine.connect() as conn:
        counts = {e: conn.execute(sa.text(
            f"SELECT count(*) FROM {e[:-1]} WHERE removed_in_month IS NULL")).scalar_one()
            for e in ENTITIES}
    engine.dispose()
    return counts


def _is(month: str, trigger: str | None = None) -> Callable[[dg.DagsterRun], bool]:
    """A run of ``month`` (launched by ``trigger``, the discogs/trigger tag)."""
    def match(run: dg.DagsterRun) -> bool:
        return run.tags.get("dagster/partition") == month and (
            trigger is None or run.tags.get("discogs/trigger") == trigger)
    return match


def _assert_completed(live: Live, month: str, run: dg.DagsterRun) -> None:
    assert run.status is dg.DagsterRunStatus.SUCCESS, live.dagster.run_errors(run.run_id)
    row = live.row(month)
    assert row is not None and str(row["status"]) == "completed", row
    raw = live.data_dir / "raw" / month
    assert not list(raw.glob("*.part")), "a partial download was left behind"
    for name, sha in live.mirror.expected_sha256(month).items():
        assert sha256_of(raw / name) == sha, f"{name} does not match its CHECKSUM"


@pytest.mark.timeout(3000)
def test_killed_step_processes_are_retried_and_nothing_is_half_written(live: Live) -> None:
    """kill -9 of step processes. A download killed mid-stream is retried inside the run (the
    step's RetryPolicy) and completes from its partial file. A parse killed (no RetryPolicy)
    fails the run: alerted once, re-requested by the retry sensor, and the month completes."""
    labels = live.mirror.file_name(PREVIOUS, "labels")
    size = live.mirror.month(PREVIOUS).files["labels"].size
    live.mirror.set_faults(FaultPlan(Fault(action="stall", target=labels, after_bytes=size // 2,
                                           stall_seconds=300)))
    live.mirror.publish(PREVIOUS)
    run_id = str(uuid.uuid4())
    live.dagster.cli("job", "launch", "-j", "discogs_monthly", "--run-id", run_id,
                     "--tags", json.dumps({"dagster/partition": PREVIOUS}))
    partial = live.data_dir / "raw" / PREVIOUS / f"{labels}.part"
    wait_until(f"{labels} half downloaded, then stalled", partial.exists, STEP_TIMEOUT_S, 0.5,
               live.dagster.describe)
    _kill_step(live, run_id, "raw_labels")

    def parse_process_started() -> bool:
        done = _step_event(live, run_id, "parsed_labels", dg.DagsterEventType.STEP_SUCCESS)
        assert done is None, "parsed_labels finished before it could be killed"
        return _step_event(live, run_id, "parsed_labels",
                           dg.DagsterEventType.STEP_WORKER_STARTED) is not None

    wait_until("the parsed_labels step process", parse_process_started, STEP_TIMEOUT_S, 0.5,
               live.dagster.describe)
    _kill_step(live, run_id, "parsed_labels")

    killed = live.dagster.wait_for_run("the run whose parse was killed",
                                       lambda r: r.run_id == run_id, timeout=RUN_TIMEOUT_S)
    assert killed.status is dg.DagsterRunStatus.FAILURE
    errors = live.dagster.run_errors(run_id)
    assert "parsed_labels" in errors and "raw_labels" not in errors, errors
    assert _step_event(live, run_id, "raw_labels", dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert _step_event(live, run_id, "raw_labels", dg.DagsterEventType.STEP_SUCCESS)

    retried = live.dagster.wait_for_run(
        "the retry sensor's run", _is(PREVIOUS, "retry"), timeout=RUN_TIMEOUT_S)
    _assert_completed(live, PREVIOUS, retried)
    assert _warehouse_counts(live.warehouse_url) == live.mirror.month(PREVIOUS).counts
    assert len(live.sentry.alerts(PREVIOUS)) == 1, live.sentry.alerts(PREVIOUS)


@pytest.mark.timeout(3000)
def test_new_dump_is_launched_when_complete_and_a_retry_after_is_honoured(live: Live) -> None:
    """The month is launched by discogs_new_dump once its CHECKSUM appears (not before); a
    429 with Retry-After fails it, alerted once; the retry waits for next_retry_at, then the
    month completes."""
    live.mirror.set_faults(FaultPlan())
    live.mirror.publish(CURRENT, checksum=False)
    listings_before = _listings(live)
    wait_until("a new-dump sensor poll after the data files appeared",
               lambda: _listings(live) >= listings_before + 2, 120, 1,
               live.dagster.describe)
    assert not [r for r in live.dagster.runs() if _is(CURRENT)(r)], \
        "the month was launched before its CHECKSUM (the 'dump complete' marker) appeared"

    checksum = live.mirror.file_name(CURRENT, "CHECKSUM")
    live.mirror.publish(CURRENT, data=False)
    first = wait_until("the new-dump sensor's run",
                       lambda: next(iter(r for r in live.dagster.runs()
                                         if _is(CURRENT, "new_dump")(r)), None), 120, 1,
                       live.dagster.describe)
    # The sensor has read the CHECKSUM; the run's own fetch of it meets the rate limit.
    live.mirror.set_faults(FaultPlan(Fault(action="status", status=429, target=checksum,
                                           headers={"Retry-After": str(RETRY_AFTER_S)})))
    failed = live.dagster.wait_for_run("the rate-limited run",
                                       lambda r: r.run_id == first.run_id, timeout=RUN_TIMEOUT_S)
    assert failed.status is dg.DagsterRunStatus.FAILURE, \
        "a Retry-After above the in-step ceiling must fail the run for the retry sensor"
    row = live.row(CURRENT)
    assert row is not None and str(row["status"]) == "failed", row
    due = row["next_retry_at"]
    assert due is not None, f"next_retry_at not recorded: {row}"
    assert (due - row["failed_at"]).total_seconds() >= RETRY_AFTER_S - 1, row

    retried = live.dagster.wait_for_run("the retry sensor's run", _is(CURRENT, "retry"),
                                        timeout=RUN_TIMEOUT_S)
    record = live.dagster.instance.get_run_record_by_id(retried.run_id)
    assert record is not None and record.create_timestamp >= due, \
        f"re-requested at {record and record.create_timestamp}, before next_retry_at {due}"
    _assert_completed(live, CURRENT, retried)
    assert _warehouse_counts(live.warehouse_url) == live.mirror.month(CURRENT).counts
    assert len(live.sentry.alerts(CURRENT)) == 1, live.sentry.alerts(CURRENT)


def _listings(live: Live) -> int:
    """Listing requests the dump host has answered so far (the new-dump sensor's polls)."""
    return sum(1 for r in live.mirror.server.requests if "prefix=" in r.path)
