"""Month status as parallel steps of one run report to the processing table."""

from __future__ import annotations

from pathlib import Path

import pytest

from discogs_assets.defs.tracking import advance
from discogs_assets.lib.warehouse import (
    InvalidTransition,
    ProcessingStatus,
    ProcessingTable,
    make_engine,
    run_models,
)

S = ProcessingStatus


@pytest.fixture
def table(tmp_path: Path) -> ProcessingTable:
    engine = make_engine(f"sqlite:///{tmp_path / 'wh.sqlite'}")
    run_models(engine)
    return ProcessingTable(engine)


def _status(table: ProcessingTable, month: str) -> str:
    return (table.get(month) or {})["status"]


def test_a_late_sibling_download_does_not_move_the_month_back(table: ProcessingTable) -> None:
    advance(table, "2026-01", S.DOWNLOADING, "run-1")
    advance(table, "2026-01", S.READY_FOR_PROCESSING, "run-1")
    advance(table, "2026-01", S.DOWNLOADING, "run-1")  # raw_releases finishing after the rest
    assert _status(table, "2026-01") == "ready_for_processing"
    advance(table, "2026-01", S.PROCESSING, "run-1")
    advance(table, "2026-01", S.DOWNLOADING, "run-1")
    assert _status(table, "2026-01") == "processing"


def test_a_rerun_restarts_a_completed_or_failed_month(table: ProcessingTable) -> None:
    for status in (S.DOWNLOADING, S.READY_FOR_PROCESSING, S.PROCESSING, S.COMPLETED):
        advance(table, "2026-01", status, "run-1")
    advance(table, "2026-01", S.DOWNLOADING, "run-2")
    assert _status(table, "2026-01") == "downloading"
    table.fail("2026-01", error="boom", retryable=True, run_id="run-2")
    advance(table, "2026-01", S.DOWNLOADING, "run-3")
    assert _status(table, "2026-01") == "downloading"


def test_forbidden_moves_still_raise(table: ProcessingTable) -> None:
    advance(table, "2026-01", S.DOWNLOADING, "run-1")
    with pytest.raises(InvalidTransition):
        advance(table, "2026-01", S.COMPLETED, "run-1")
