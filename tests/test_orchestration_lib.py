"""The Dagster-free rules: backoff, run keys and cursors, freshness, retention, alerts, gate
cancellation, drift, summaries and the schedule's choice."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from discogs_assets.lib.orchestration.alerts import Alert, redact
from discogs_assets.lib.orchestration.freshness import evaluate_freshness
from discogs_assets.lib.orchestration.gate_flip import QueuedRun, plan_gate_cancellation
from discogs_assets.lib.orchestration.new_dump import (
    ChecksumSeen,
    NewDumpCursor,
    new_dump_run_key,
)
from discogs_assets.lib.orchestration.retention import (
    RetentionPlan,
    delete_month_dirs,
    plan_retention,
    select_months_to_delete,
)
from discogs_assets.lib.orchestration.retry import (
    BackoffPolicy,
    FailedMonth,
    RetryAction,
    decide_retry,
    retry_run_key,
)
from discogs_assets.lib.orchestration.schedule import (
    ListingOutcome,
    Publication,
    ScheduleDecision,
    current_month_decision,
    is_catch_up_tick,
    needs_listing,
    schedule_run_key,
)
from discogs_assets.lib.orchestration.summary import (
    GB,
    DiskSpace,
    months_parsed_by_older,
    summarize,
)
from discogs_assets.lib.parsing.quality import count_drift
from discogs_assets.lib.settings import Settings, SettingsError

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
_DEFAULTS = Settings()
POLICY = BackoffPolicy(delays_s=_DEFAULTS.retry_delays_s, max_attempts=_DEFAULTS.retry_max_attempts)


def _failed(retry_count: int = 0, **kw: object) -> FailedMonth:
    base = dict(month="2026-03", retryable=True, retry_count=retry_count, failed_at=T0,
                last_error="HTTP 503", last_run_id="run-1")
    return FailedMonth(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(("retry_count", "wait_s"), [(0, 300), (1, 1500), (2, 7200), (3, 21600)])
def test_backoff_waits_5m_25m_2h_6h(retry_count: int, wait_s: int) -> None:
    policy = POLICY
    failed = _failed(retry_count)
    early = decide_retry(failed, T0 + timedelta(seconds=wait_s - 1), busy=False, policy=policy)
    assert early.action is RetryAction.WAIT
    assert early.due_at == T0 + timedelta(seconds=wait_s)
    due = decide_retry(failed, T0 + timedelta(seconds=wait_s), busy=False, policy=policy)
    assert due.action is RetryAction.RETRY
    assert f"attempt {retry_count + 2} of 5" in due.reason


def test_fifth_failed_attempt_is_exhausted_and_says_so() -> None:
    decision = decide_retry(_failed(4), T0 + timedelta(days=2), busy=False, policy=POLICY)
    assert decision.action is RetryAction.EXHAUSTED
    assert "5 of 5 attempts failed" in decision.reason and "HTTP 503" in decision.reason


def test_non_retryable_busy_and_gate_disabled() -> None:
    policy = POLICY
    later = T0 + timedelta(days=1)
    no_dump = _failed(retryable=False, last_error="no dump published for 2022-07")
    assert decide_retry(no_dump, later, busy=False, policy=policy).action is \
        RetryAction.NOT_RETRYABLE
    assert decide_retry(_failed(), later, busy=True, policy=policy).action is RetryAction.BUSY
    gated = _failed(retryable=False, gate_disabled=True)
    decision = decide_retry(gated, later, busy=False, policy=policy)
    assert decision.action is RetryAction.GATE_RELEASED and decision.requests_run


def test_retry_run_keys_differ_per_failure() -> None:
    assert retry_run_key(_failed(0)) != retry_run_key(_failed(1))
    assert retry_run_key(_failed(0)) != retry_run_key(_failed(0, last_run_id="run-2"))
    assert retry_run_key(_failed(0)) == retry_run_key(_failed(0))


def test_backoff_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        BackoffPolicy(delays_s=(1.0,), max_attempts=0)
    assert BackoffPolicy(delays_s=(10.0,), max_attempts=5).delay_after(7) == timedelta(seconds=10)


def test_new_dump_cursor_round_trip() -> None:
    cursor = NewDumpCursor.load(None)
    modified = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    cursor.seen["2026-03"] = ChecksumSeen("discogs_20260309_CHECKSUM.txt", 388,
                                          modified.isoformat(), "ab" * 32, T0.isoformat())
    again = NewDumpCursor.load(cursor.dump())
    assert again.seen == cursor.seen
    seen = again.seen["2026-03"]
    assert seen.same_listing("discogs_20260309_CHECKSUM.txt", 388, modified)
    assert not seen.same_listing("discogs_20260309_CHECKSUM.txt", 390, modified)
    assert new_dump_run_key("2026-03", "ab" * 32) == "2026-03:" + "ab" * 32


def test_freshness_verdicts() -> None:
    seen = T0
    inside = evaluate_freshness("2026-03", seen, None, seen + timedelta(days=2), max_days=3)
    assert inside.passed and "due by" in inside.reason
    overdue = evaluate_freshness("2026-03", seen, None, seen + timedelta(days=4), max_days=3)
    assert not overdue.passed and "overdue by 24.0 h" in overdue.reason
    late = evaluate_freshness("2026-03", seen, seen + timedelta(days=3, hours=1),
                              seen + timedelta(days=5), max_days=3)
    assert not late.passed and "late" in late.reason
    on_time = evaluate_freshness("2026-03", seen, seen + timedelta(days=1),
                                 seen + timedelta(days=30), max_days=3)
    assert on_time.passed
    assert evaluate_freshness(None, None, None, seen, max_days=3).passed


ON_DISK = ["2026-01", "2025-11", "2026-03", "2025-12", "2026-02", "lost+found"]
STATUSES = {"2025-11": "completed", "2025-12": "failed", "2026-01": "completed",
            "2026-02": "processing", "2026-03": "completed"}


def _plan(keep_raw: int = 2, keep_parsed: int = 3, statuses: dict[str, str] = STATUSES,
          in_use: frozenset[str] = frozenset()) -> RetentionPlan:
    return plan_retention(ON_DISK, ON_DISK, statuses, keep_raw=keep_raw,
                          keep_parsed=keep_parsed, in_use=in_use)


def test_retention_deletes_only_completed_months_beyond_the_newest() -> None:
    plan = _plan()
    # Beyond the newest 2 raw months: 2025-11 (completed: deleted), 2025-12 (failed: kept,
    # a retry needs its files), 2026-01 (completed: deleted). "lost+found" is never ours.
    assert plan.raw == ["2025-11", "2026-01"]
    assert plan.parsed == ["2025-11"]  # beyond the newest 3: 2025-11 and the failed 2025-12
    assert plan.unfinished == {"2025-12": "failed"} and plan.current == "2026-03"
    # A month still loading (2026-02, processing) stays even beyond the window; so does a
    # month that was never loaded at all.
    loading = _plan(keep_raw=1, keep_parsed=1, statuses={**STATUSES, "2026-03": "processing"})
    assert loading.raw == ["2025-11", "2026-01"] and "2026-02" not in loading.raw
    assert loading.unfinished == {"2025-12": "failed", "2026-02": "processing"}
    unknown = _plan(statuses={})
    assert (unknown.raw, unknown.parsed) == ([], [])
    assert set(unknown.unfinished.values()) == {"never loaded"}


def test_retention_keeps_busy_months_the_current_parsed_month_and_zero_keeps_all() -> None:
    busy = _plan(in_use=frozenset({"2025-11"}))
    assert busy.raw == ["2026-01"] and busy.parsed == [] and busy.busy == ["2025-11"]
    # The current (newest completed) month's parsed output stays even outside the window,
    # here behind a newer month that is still loading.
    current = _plan(keep_parsed=1, statuses={**STATUSES, "2026-03": "processing"})
    assert current.current == "2026-01" and "2026-01" not in current.parsed
    assert current.parsed == ["2025-11"]
    assert _plan(keep_raw=0, keep_parsed=0).raw == [] == _plan(keep_raw=0, keep_parsed=0).parsed
    only_raw = _plan(keep_raw=0)
    assert only_raw.raw == [] and only_raw.parsed == ["2025-11"]
    assert select_months_to_delete(["2026-01"], keep=2, completed=["2026-01"]) == []
    assert select_months_to_delete(["lost+found", "2026-13", "2025-01", "2026-01"], keep=1,
                                   completed=["lost+found", "2026-13", "2025-01"]) == ["2025-01"]


def test_delete_month_dirs_reports_failures_without_raising(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "2025-11").mkdir(parents=True)
    (raw / "2025-11" / "discogs_20251101_labels.xml.gz").write_bytes(b"x")
    (raw / "2025-12").write_bytes(b"")  # a file where a directory should be: rmtree fails
    deleted, errors = delete_month_dirs(raw, ["2025-11", "2025-12", "../etc"])
    assert deleted == ["2025-11"] and not (raw / "2025-11").exists()
    assert set(errors) == {"2025-12", "../etc"}
    assert "NotADirectoryError" in errors["2025-12"]
    assert "not a month" in errors["../etc"]


def test_alert_payload_tags_log_line_and_redaction() -> None:
    alert = Alert(kind="run_failure", month="2026-03", asset="raw_releases", run_id="r1",
                  attempt=2, message="load failed for postgresql://app:s3cret@db:5432/w")
    assert alert.tags() == {"alert": "run_failure", "month": "2026-03", "asset": "raw_releases",
                            "run_id": "r1", "attempt": "2"}
    assert "s3cret" not in alert.message and "s3cret" not in alert.log_line()
    assert '"event": "discogs_alert"' in alert.log_line()
    assert redact("https://key@o1.ingest.sentry.io/42") == "https://***@o1.ingest.sentry.io/42"


def test_gate_cancellation_plan() -> None:
    queued = [QueuedRun("a", "2026-02"), QueuedRun("b", "2026-02"), QueuedRun("c", "2026-01")]
    plan = plan_gate_cancellation(queued)
    assert plan.run_ids == ["a", "b", "c"] and plan.months == ["2026-01", "2026-02"]
    assert plan.note("a").startswith("gate disabled")


def test_count_drift() -> None:
    assert count_drift(105, 100, max_fraction=0.1).passed
    shrunk = count_drift(80, 100, max_fraction=0.1)
    assert not shrunk.passed and "-20.00%" in shrunk.reason
    assert count_drift(80, None, max_fraction=0.1).passed
    assert not count_drift(5, 0, max_fraction=0.1).passed


def test_summary_and_parser_versions() -> None:
    rows = [
        {"month": "2026-01", "status": "completed", "parser_version": "1",
         "updated_at": T0 - timedelta(days=40)},
        {"month": "2026-02", "status": "failed", "parser_version": "2", "updated_at": T0},
        {"month": "2026-03", "status": "downloading", "parser_version": None,
         "updated_at": T0 - timedelta(days=2)},
        {"month": "2025-12", "status": "completed", "parser_version": "10", "updated_at": T0},
    ]
    summary = summarize(rows, T0, parser_version="2")
    assert summary.failed == ["2026-02"] and summary.pending == ["2026-03"]
    assert summary.stale == ["2026-03"] and summary.completed == 2
    assert summary.older_parser == ["2026-01"]
    assert months_parsed_by_older(rows, "11") == ["2025-12", "2026-01", "2026-02"]
    assert "failed: 2026-02" in summary.text()


def test_disk_space_is_low_below_the_minimum_and_says_so() -> None:
    ok = DiskSpace(free_bytes=20 * GB, total_bytes=500 * GB, min_free_bytes=20 * GB)
    assert not ok.low and ok.text() == "free disk: 20.0 GB of 500.0 GB"
    low = DiskSpace(free_bytes=20 * GB - 1, total_bytes=500 * GB, min_free_bytes=20 * GB)
    assert low.low and "below the 20.0 GB minimum (DISCOGS_MIN_FREE_DISK_GB)" in low.text()


PUBLISHED = ListingOutcome(Publication.PUBLISHED)
NOT_YET = ListingOutcome(Publication.NOT_PUBLISHED, "no dump published for 2026-04")
PARTIAL = ListingOutcome(Publication.INCOMPLETE, "dump for 2026-04 is incomplete: CHECKSUM not "
                         "yet published (dated 20260401)")


def _decide(listing: ListingOutcome | None, day: int, *, status: str | None = None,
            busy: bool = False, late_day: int = 10) -> ScheduleDecision:
    return current_month_decision(listing, date(2026, 4, day), late_day=late_day,
                                  status=status, busy=busy)


@pytest.mark.parametrize(("listing", "day", "run", "late"), [
    (PUBLISHED, 1, True, False),
    (PUBLISHED, 25, True, False),  # published late: just run
    (NOT_YET, 1, False, False),
    (NOT_YET, 9, False, False),
    (NOT_YET, 10, False, True),  # the late day itself
    (PARTIAL, 9, False, False),
    (PARTIAL, 28, False, True),  # files without a CHECKSUM are late too
    (ListingOutcome(Publication.ERROR, "HTTP 429", retry_after=3500.0), 20, False, False),
])
def test_schedule_decision_by_publication_and_day(listing: ListingOutcome, day: int, run: bool,
                                                  late: bool) -> None:
    decision = _decide(listing, day)
    assert (decision.month, decision.run, decision.late) == ("2026-04", run, late)
    if listing.detail:
        assert listing.detail in decision.reason


def test_schedule_decision_reasons_late_day_status_and_busy() -> None:
    assert _decide(NOT_YET, 12, late_day=15).reason == (
        "2026-04: no dump published for 2026-04; waiting for Discogs to publish (not late "
        "before day 15)")
    assert _decide(NOT_YET, 15, late_day=15).late
    error = _decide(ListingOutcome(Publication.ERROR, "HTTP 429", retry_after=3500.0), 3)
    assert "listing failed (HTTP 429); the host asked to wait 3500 s" in error.reason
    assert _decide(PUBLISHED, 3, status="failed").reason == (
        "2026-04 is failed and its dump is published: run the chain")
    # A complete or busy month needs no listing at all, and never alerts.
    for status, busy, said in (("completed", False, "complete"), ("failed", True, "in progress")):
        assert not needs_listing(status=status, busy=busy)
        decision = _decide(None, 20, status=status, busy=busy)
        assert not decision.run and not decision.late and said in decision.reason
    assert needs_listing(status=None, busy=False) and needs_listing(status="failed", busy=False)
    with pytest.raises(ValueError, match="a listing outcome is needed"):
        _decide(None, 3)


def test_schedule_run_key_and_catch_up_ticks() -> None:
    first = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    assert schedule_run_key("2026-04", first) == "2026-04:daily:2026-04-01"
    assert not is_catch_up_tick(first, first + timedelta(hours=23, minutes=59))
    assert is_catch_up_tick(first, first + timedelta(days=1))  # the next tick is due too


def test_dump_late_day_setting() -> None:
    assert Settings.from_env({}).dump_late_day == 10
    assert Settings.from_env({"DISCOGS_DUMP_LATE_DAY": "5"}).dump_late_day == 5
    with pytest.raises(SettingsError, match="DISCOGS_DUMP_LATE_DAY=32: expected a day"):
        Settings.from_env({"DISCOGS_DUMP_LATE_DAY": "32"})
