"""Failed asset-check evaluations from the instance: the one non-public Dagster API we use.

OSS Dagster 1.13 has no public way to list asset-check evaluations (nor alerts on them), so the
check-failure alert reads the event log storage's check execution history. Kept here, alone,
so a Dagster upgrade that moves it breaks one small module with a clear name.
"""

import dagster as dg
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)


def failed_check_records(instance: dg.DagsterInstance, key: dg.AssetCheckKey,
                         limit: int) -> list[AssetCheckExecutionRecord]:
    """The newest ``limit`` failed evaluations of ``key``, oldest first."""
    records = instance.event_log_storage.get_asset_check_execution_history(
        key, limit=limit, status={AssetCheckExecutionRecordStatus.FAILED})
    return sorted(records, key=lambda r: r.id)
