"""The daily schedule against a real HTTP stand-in of the dump host (requests counted) and a
real Sentry stand-in (alerts counted): quiet before publication, a run once published, one
alert per day once the dump is late."""

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import time_machine
from pytest_httpserver import HTTPServer

from discogs_assets.lib.acquisition.mirror_server import Fault, FaultPlan, MirrorServer
from discogs_assets.lib.sample_mirror import build_sample_mirror
from resources.dump_source import DumpSourceResource
from schedules.daily import daily_current_month
from tests.lifecycle_helpers import drive_to
from tests.orchestration_helpers import Env, SentryStandIn, add_run, make_env

MONTH = "2026-04"


def at(day: int) -> datetime:
    return datetime(2026, 4, day, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("published")
    build_sample_mirror(root, months=[MONTH])  # dated 2026-04-01, CHECKSUM written last
    return root


@pytest.fixture
def mirror(published: Path, tmp_path: Path) -> Path:
    """A copy of the host's files before Discogs published anything for the month."""
    root = tmp_path / "mirror"
    (root / "data").mkdir(parents=True)
    return root


def publish(published: Path, mirror: Path, *, checksum: bool) -> None:
    """Discogs uploads the data files first and the CHECKSUM (the "complete" marker) last."""
    folder = mirror / "data" / "2026"
    folder.mkdir(exist_ok=True)
    for path in (published / "data" / "2026").iterdir():
        if checksum or "CHECKSUM" not in path.name:
            shutil.copy2(path, folder / path.name)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:  # persistent: schedule contexts need an instance ref
        yield inst


@pytest.fixture
def sentry(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> SentryStandIn:
    stand_in = SentryStandIn(httpserver)
    monkeypatch.setenv("SENTRY_DSN", stand_in.dsn)
    return stand_in


def tick(env: Env, instance: dg.DagsterInstance, server: MirrorServer, scheduled: datetime,
         now: datetime | None = None) -> dg.RunRequest | dg.SkipReason:
    # The resource's own defaults (5 attempts per request): the schedule must cap it at one.
    resources = env.resources(dump_source=DumpSourceResource(url=server.url))
    with time_machine.travel(now or scheduled + timedelta(seconds=5), tick=True), \
            dg.build_schedule_context(instance=instance, scheduled_execution_time=scheduled,
                                      resources=resources) as context:
        return daily_current_month(context)


def listings(server: MirrorServer) -> int:
    assert all("prefix=" in r.path for r in server.requests), server.requests  # nothing else
    return len(server.requests)


def late_alerts(sentry: SentryStandIn) -> list[dict]:
    return [e for e in sentry.events() if e["tags"].get("alert") == "dump_late"]


def test_cron_is_daily_0200_utc() -> None:
    assert daily_current_month.cron_schedule == "0 2 * * *"
    assert daily_current_month.execution_timezone == "UTC"
    assert daily_current_month.job_name == "discogs_monthly"


def test_skips_before_publication_then_runs_once_published(
    env: Env, instance: dg.DagsterInstance, published: Path, mirror: Path,
    sentry: SentryStandIn
) -> None:
    with MirrorServer(mirror) as server:
        nothing = tick(env, instance, server, at(2))
        assert isinstance(nothing, dg.SkipReason)
        assert nothing.skip_message == ("2026-04: no dump published for 2026-04; waiting for "
                                        "Discogs to publish (not late before day 10)")
        assert listings(server) == 1

        publish(published, mirror, checksum=False)
        partial = tick(env, instance, server, at(3))
        assert isinstance(partial, dg.SkipReason)
        assert "CHECKSUM not yet published" in partial.skip_message
        assert listings(server) == 2

        publish(published, mirror, checksum=True)
        request = tick(env, instance, server, at(4))
        assert isinstance(request, dg.RunRequest)
        assert request.partition_key == MONTH  # the current month: end_offset=1 makes it a key
        assert request.run_key == "2026-04:daily:2026-04-04"
        assert listings(server) == 3
    assert late_alerts(sentry) == []
    assert env.warehouse.processing().all() == []  # the schedule itself writes nothing


def test_late_dump_alerts_once_per_day_from_the_late_day(
    env: Env, instance: dg.DagsterInstance, mirror: Path, sentry: SentryStandIn,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    with MirrorServer(mirror) as server:
        assert isinstance(tick(env, instance, server, at(9)), dg.SkipReason)
        assert late_alerts(sentry) == []

        late = tick(env, instance, server, at(10))
        assert isinstance(late, dg.SkipReason)
        assert "the dump is late (day 10, expected by day 10" in late.skip_message
        [alert] = late_alerts(sentry)
        assert alert["tags"]["month"] == MONTH and alert["level"] == "warning"
        assert "no dump published for 2026-04" in alert["message"]

        tick(env, instance, server, at(11))  # the next day: one more, no more
        assert len(late_alerts(sentry)) == 2

        monkeypatch.setenv("DISCOGS_DUMP_LATE_DAY", "15")
        assert "not late before day 15" in tick(env, instance, server, at(12)).skip_message
        assert len(late_alerts(sentry)) == 2
        assert listings(server) == 4


@pytest.mark.parametrize(("fault", "said", "wait_s"), [
    (Fault("status", "listing", status=429, headers={"Retry-After": "3500"}, times=5),
     "the host asked to wait 3500 s", 3500),
    (Fault("status", "listing", status=503, times=5), "HTTP 503", None),
])
def test_listing_error_skips_with_one_request_and_no_alert(
    env: Env, instance: dg.DagsterInstance, mirror: Path, sentry: SentryStandIn,
    fault: Fault, said: str, wait_s: int | None
) -> None:
    with MirrorServer(mirror, faults=FaultPlan(fault)) as server:
        skip = tick(env, instance, server, at(20))  # a late day: still no alert, no run
        assert listings(server) == 1  # no in-tick retry
    assert isinstance(skip, dg.SkipReason)
    assert "the dump listing failed" in skip.skip_message and said in skip.skip_message
    assert late_alerts(sentry) == []
    # The host's Retry-After is kept for every process (sensors, steps), not only this tick.
    backoff = env.lifecycle().host_backoff_until("127.0.0.1", at(20))
    if wait_s is None:
        assert backoff is None
    else:
        assert backoff is not None and backoff[0] >= at(20) + timedelta(seconds=wait_s)


def test_a_wait_the_host_asked_of_another_process_means_no_request(
    env: Env, instance: dg.DagsterInstance, mirror: Path
) -> None:
    env.lifecycle().record_host_backoff("127.0.0.1", at(12) + timedelta(hours=1),
                                       "discogs_new_dump: HTTP 429")
    with MirrorServer(mirror) as server:
        skip = tick(env, instance, server, at(12))
        assert server.requests == []
    assert isinstance(skip, dg.SkipReason)
    assert "no request before 2026-04-12T03:00:00+00:00 (discogs_new_dump: HTTP 429)" in \
        skip.skip_message


def test_complete_busy_or_missed_ticks_make_no_request(
    env: Env, instance: dg.DagsterInstance, published: Path, mirror: Path
) -> None:
    publish(published, mirror, checksum=True)
    with MirrorServer(mirror) as server:
        # After a daemon outage the missed tick of the 11th is evaluated on the 12th at 03:00,
        # beside the 12th's own tick: only the newest asks the host.
        missed = tick(env, instance, server, at(11), now=at(12) + timedelta(hours=1))
        assert isinstance(missed, dg.SkipReason) and "evaluated late" in missed.skip_message

        run = add_run(instance, MONTH, dg.DagsterRunStatus.STARTED)
        busy = tick(env, instance, server, at(15))
        assert isinstance(busy, dg.SkipReason) and "in progress" in busy.skip_message
        instance.report_run_canceled(run)

        drive_to(env.lifecycle(), MONTH, "completed")
        done = tick(env, instance, server, at(20))
        assert isinstance(done, dg.SkipReason) and "2026-04 is complete" in done.skip_message
        assert server.requests == []

        env.lifecycle().record_failure(MONTH, error="warehouse_releases: shrink guard",
                                       retryable=False)
        again = tick(env, instance, server, at(21))  # not complete: runs again while published
        assert isinstance(again, dg.RunRequest) and listings(server) == 1


def test_skips_while_gated_without_a_request(tmp_path: Path, instance: dg.DagsterInstance,
                                             mirror: Path) -> None:
    env = make_env(tmp_path, gate=False)
    with MirrorServer(mirror) as server:
        skip = tick(env, instance, server, at(12))
        assert server.requests == []
    assert isinstance(skip, dg.SkipReason)
    assert "Discogs ingestion is gated" in skip.skip_message
    assert env.warehouse.processing().all() == []
