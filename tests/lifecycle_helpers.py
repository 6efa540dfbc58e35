"""Put a month into a given lifecycle state through the lifecycle's own named operations."""

from __future__ import annotations

from discogs_assets.lib.lifecycle import CHECKSUM_STEP, MonthLifecycle, ProcessingStatus, Stage
from discogs_assets.lib.tables import ENTITIES

S = ProcessingStatus


def drive_to(lifecycle: MonthLifecycle, month: str, status: ProcessingStatus | str,
             run_id: str = "r-test", parser_version: str | None = None) -> dict:
    """Steps of one run take ``month`` to ``status`` (``failed``: fails while downloading);
    ``parser_version`` is what the parse steps record on the way to ``completed``."""
    target = S(status)
    row = lifecycle.start_stage(month, CHECKSUM_STEP, Stage.DOWNLOAD, run_id=run_id)
    if target in (S.DOWNLOADING, S.FAILED):
        if target is S.FAILED:
            row = lifecycle.record_failure(month, error="test failure", retryable=True,
                                           run_id=run_id)
        return row
    for entity in ENTITIES:
        row = lifecycle.finish_stage(month, entity, Stage.DOWNLOAD, run_id=run_id)
    if target is S.READY_FOR_PROCESSING:
        return row
    row = lifecycle.start_stage(month, ENTITIES[0], Stage.PARSE, run_id=run_id)
    if target is S.PROCESSING:
        return row
    for entity in ENTITIES:
        lifecycle.finish_stage(month, entity, Stage.PARSE, run_id=run_id,
                               parser_version=parser_version)
        row = lifecycle.finish_stage(month, entity, Stage.LOAD, run_id=run_id)
    assert row["status"] is S.COMPLETED
    return row
