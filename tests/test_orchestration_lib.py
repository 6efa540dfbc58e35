"""The Dagster-free rules: backoff, run keys and cursors, freshness, retention, alerts, gate
cancellation, drift, summaries and the schedule's choice."""

from datetime import UTC, datetime, timedelta
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
from discogs_assets.lib.orchestration.quality import count_drift
from discogs_assets.lib.orchestration.retention import (
    delete_raw_months,
    select_raw_months_to_delete,
)
from discogs_assets.lib.orchestration.retry import (
    BackoffPolicy,
    FailedMonth,
    RetryAction,
    decide_retry,
    retry_run_key,
)
from discogs_assets.lib.orchestration.schedule import current_month_decision, schedule_run_key
from discogs_assets.lib.orchestration.summary import months_parsed_by_older, summarize
from discogs_assets.lib.settings import Settings

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


def test_retention_selection_keeps_newest_and_busy_months() -> None:
    on_disk = ["2026-01", "2025-11", "2026-03", "2025-12", "2026-02", "lost+found"]
    assert select_raw_months_to_delete(on_disk, keep=2) == ["2025-11", "2025-12", "2026-01"]
    assert select_raw_months_to_delete(on_disk, keep=2, in_use={"2025-12"}) == \
        ["2025-11", "2026-01"]
    assert select_raw_months_to_delete(on_disk, keep=0) == []
    assert select_raw_months_to_delete(on_disk, keep=None) == []
    assert select_raw_months_to_delete(["2026-01"], keep=2) == []


def test_delete_raw_months_reports_failures_without_raising(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "2025-11").mkdir(parents=True)
    (raw / "2025-11" / "discogs_20251101_labels.xml.gz").write_bytes(b"x")
    (raw / "2025-12").write_bytes(b"")  # a file where a directory should be: rmtree fails
    deleted, errors = delete_raw_months(raw, ["2025-11", "2025-12", "../etc"])
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


def test_schedule_decision_and_run_key() -> None:
    first = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    decision = current_month_decision(first, status=None, busy=False)
    assert (decision.month, decision.run) == ("2026-04", True)
    assert not current_month_decision(first, status="completed", busy=False).run
    assert not current_month_decision(first, status="failed", busy=True).run
    assert schedule_run_key("2026-04", first) == "2026-04:daily:2026-04-01"
