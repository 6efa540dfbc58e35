"""The processing table: transition rules, failures, retries and stats, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from discogs_assets.lib.warehouse import (
    InvalidTransition,
    ProcessingStatus,
    ProcessingTable,
    make_engine,
    run_models,
)
from discogs_assets.lib.warehouse.processing import ALLOWED, can_transition

S = ProcessingStatus


@pytest.fixture
def pt(warehouse_url: str) -> ProcessingTable:
    engine = make_engine(warehouse_url)
    run_models(engine, names=["discogs_data_processing"])
    yield ProcessingTable(engine)
    engine.dispose()


def test_happy_path_records_phase_timestamps(pt: ProcessingTable) -> None:
    assert pt.get("2026-02") is None
    for status in (S.DOWNLOADING, S.READY_FOR_PROCESSING, S.PROCESSING, S.COMPLETED):
        row = pt.transition("2026-02", status, run_id="run-1")
        assert row["status"] is status
    row = pt.get("2026-02")
    assert row is not None and row["last_run_id"] == "run-1"
    stamps = [row[c] for c in ("download_started_at", "ready_at", "processing_started_at",
                               "completed_at")]
    assert all(isinstance(s, datetime) and s.tzinfo is not None for s in stamps)
    assert stamps == sorted(stamps)
    assert row["retry_count"] == 0 and row["failure_retryable"] is None


@pytest.mark.parametrize(("start", "target"), [
    (S.NOT_STARTED, S.PROCESSING),
    (S.NOT_STARTED, S.COMPLETED),
    (S.DOWNLOADING, S.COMPLETED),
    (S.READY_FOR_PROCESSING, S.COMPLETED),
    (S.PROCESSING, S.DOWNLOADING),
    (S.COMPLETED, S.READY_FOR_PROCESSING),
    (S.FAILED, S.COMPLETED),
])
def test_invalid_transitions_are_refused(pt: ProcessingTable, start: S, target: S) -> None:
    path = {S.NOT_STARTED: [], S.DOWNLOADING: [S.DOWNLOADING],
            S.READY_FOR_PROCESSING: [S.DOWNLOADING, S.READY_FOR_PROCESSING],
            S.PROCESSING: [S.DOWNLOADING, S.READY_FOR_PROCESSING, S.PROCESSING],
            S.COMPLETED: [S.DOWNLOADING, S.READY_FOR_PROCESSING, S.PROCESSING, S.COMPLETED]}
    if start is S.FAILED:
        pt.fail("2026-02", error="boom", retryable=True)
    for step in path.get(start, []):
        pt.transition("2026-02", step)
    with pytest.raises(InvalidTransition, match=f"month 2026-02: cannot go from {start} to "
                                                f"{target}"):
        pt.transition("2026-02", target)
    row = pt.get("2026-02")
    assert row is None or row["status"] is start


def test_rule_table_includes_reruns_retries_and_failure_from_anywhere() -> None:
    for status in S:
        assert can_transition(status, S.FAILED) and can_transition(status, status)
    for source in (S.COMPLETED, S.FAILED):
        assert ALLOWED[source] == {S.DOWNLOADING, S.PROCESSING}


def test_failure_retry_and_rerun(pt: ProcessingTable) -> None:
    pt.transition("2026-02", S.DOWNLOADING, run_id="r1")
    retry_at = datetime.now(UTC) + timedelta(hours=1)
    row = pt.fail("2026-02", error="HTTP 429 from data.discogs.com", retryable=True,
                  run_id="r1", next_retry_at=retry_at)
    assert row["status"] is S.FAILED and row["failure_retryable"] is True
    assert row["last_error"] == "HTTP 429 from data.discogs.com"
    assert abs((row["next_retry_at"] - retry_at).total_seconds()) < 1
    row = pt.transition("2026-02", S.DOWNLOADING, run_id="r2")  # the retry
    assert (row["retry_count"], row["next_retry_at"], row["failure_retryable"]) == (1, None, None)
    assert row["failed_at"] is None and row["last_error"] == "HTTP 429 from data.discogs.com"
    for status in (S.READY_FOR_PROCESSING, S.PROCESSING):
        pt.transition("2026-02", status)
    pt.fail("2026-02", error="shrink guard", retryable=False)
    assert pt.transition("2026-02", S.PROCESSING)["retry_count"] == 2
    pt.transition("2026-02", S.COMPLETED)
    row = pt.transition("2026-02", S.PROCESSING, run_id="rerun")  # a rerun of the month
    assert row["status"] is S.PROCESSING and row["completed_at"] is None
    assert row["retry_count"] == 2
    # the same state again is a no-op, not an error
    assert pt.transition("2026-02", S.PROCESSING)["status"] is S.PROCESSING
    assert pt.transition("2026-02", "failed")["status"] is S.FAILED


def test_update_columns_and_deep_merged_stats(pt: ProcessingTable) -> None:
    pt.update("2026-02", dump_date="20260201", checksum_sha256="ab" * 32,
              checksums={"discogs_20260201_labels.xml.gz": "cd" * 32}, unverified=False,
              parser_version="xml2arrow-1", stats_patch={"parsed_labels": {"records": 3}})
    pt.update("2026-02", stats_patch={"parsed_labels": {"seconds": 1.5},
                                      "warehouse_labels": {"added": 3}})
    pt.update("2026-02", gate_disabled=True, gate_note="gate disabled by ops")
    row = pt.get("2026-02")
    assert row is not None and row["status"] is S.NOT_STARTED
    assert row["stats"] == {"parsed_labels": {"records": 3, "seconds": 1.5},
                            "warehouse_labels": {"added": 3}}
    assert row["checksums"] == {"discogs_20260201_labels.xml.gz": "cd" * 32}
    assert (row["dump_date"], row["unverified"], row["gate_disabled"]) == ("20260201", False,
                                                                           True)
    with pytest.raises(ValueError, match="cannot update status"):
        pt.update("2026-02", status="completed")
    with pytest.raises(ValueError, match="not a month"):
        pt.update("2026-13", dump_date="x")
    assert [r["month"] for r in pt.all()] == ["2026-02"]


def test_database_check_rejects_unknown_status(pt: ProcessingTable) -> None:
    pt.update("2026-02", dump_date="20260201")
    with pytest.raises(sa.exc.DBAPIError), pt.engine.begin() as conn:
        conn.execute(sa.text("UPDATE discogs_data_processing SET status = 'bogus'"))
