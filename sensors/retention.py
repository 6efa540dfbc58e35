"""After a month completes, delete raw dumps older than the newest N months (default 2).

Never a month a run is using (queued or running);
``DISCOGS_KEEP_RAW_MONTHS=0`` keeps everything. Failures are logged, never fatal.
"""

from pathlib import Path

import dagster as dg

from discogs_assets.lib.orchestration.retention import (
    delete_raw_months,
    select_raw_months_to_delete,
)
from discogs_assets.lib.settings import Settings
from resources.settings import PipelineSettings
from sensors.runs import active_months, run_month

SENSOR_NAME = "discogs_raw_retention"


def apply_retention(instance: dg.DagsterInstance, data_path: Path) -> tuple[str, dict[str, str]]:
    """One retention pass: (what happened, month -> deletion error)."""
    keep = Settings.from_env().keep_raw_months
    if not keep:
        return "DISCOGS_KEEP_RAW_MONTHS=0: keeping every raw dump", {}
    raw_root = data_path / "raw"
    on_disk = [p.name for p in raw_root.iterdir() if p.is_dir()] if raw_root.is_dir() else []
    busy = active_months(instance)
    doomed = select_raw_months_to_delete(on_disk, keep=keep, in_use=busy)
    deleted, errors = delete_raw_months(raw_root, doomed)
    kept_busy = sorted(busy & set(on_disk))
    return (f"retention keeps the newest {keep} month(s): deleted {deleted or 'nothing'}"
            + (f"; kept {kept_busy} (a run uses them)" if kept_busy else "")
            + (f"; failed {sorted(errors)}" if errors else "")), errors


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name=SENSOR_NAME,
    description="After a monthly run succeeds, deletes raw dumps older than the newest "
    "DISCOGS_KEEP_RAW_MONTHS months (default 2; 0 keeps all), never one a run is using.",
)
def raw_retention(context: dg.RunStatusSensorContext, settings: PipelineSettings) -> None:
    if run_month(context.dagster_run) is None:
        return
    try:
        message, errors = apply_retention(context.instance, settings.data_path)
        for month, error in errors.items():
            context.log.warning(f"retention: could not delete raw dumps of {month}: {error}")
        context.log.info(message)
    except Exception as exc:  # cleanup must never fail anything
        context.log.warning(f"retention pass failed, nothing else affected: {exc!r}")
