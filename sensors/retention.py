"""After a monthly run succeeds, delete the raw dumps and parsed output no month needs any more.

Only months whose warehouse load completed, beyond the newest ``DISCOGS_KEEP_RAW_MONTHS`` (raw,
default 2) and ``DISCOGS_KEEP_PARSED_MONTHS`` (parsed, default 3) months, never a month a run is
using, never the current month's parsed output (0 keeps everything). Failures are logged, never
fatal.
"""

from pathlib import Path

import dagster as dg

from discogs_assets.lib.orchestration.retention import delete_month_dirs, plan_retention
from discogs_assets.lib.settings import Settings
from resources.settings import PipelineSettings
from resources.warehouse import WarehouseResource
from sensors.runs import active_months, run_month

SENSOR_NAME = "discogs_raw_retention"  # the name operators switched on; it now covers parsed too


def _months_in(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if p.is_dir()] if root.is_dir() else []


def apply_retention(instance: dg.DagsterInstance, data_path: Path,
                    warehouse: WarehouseResource) -> tuple[str, dict[str, str]]:
    """One retention pass: (what happened, "raw|parsed YYYY-MM" -> deletion error)."""
    settings = Settings.from_env()
    statuses = {str(row["month"]): str(row["status"]) for row in warehouse.processing().all()}
    raw_root, parsed_root = data_path / "raw", data_path / "parsed"
    plan = plan_retention(_months_in(raw_root), _months_in(parsed_root), statuses,
                          keep_raw=settings.keep_raw_months,
                          keep_parsed=settings.keep_parsed_months,
                          in_use=active_months(instance))
    raw_deleted, raw_errors = delete_month_dirs(raw_root, plan.raw)
    parsed_deleted, parsed_errors = delete_month_dirs(parsed_root, plan.parsed)
    errors = {**{f"raw {m}": e for m, e in raw_errors.items()},
              **{f"parsed {m}": e for m, e in parsed_errors.items()}}

    def keeping(keep: int, what: str) -> str:
        return f"the newest {keep} {what} month(s)" if keep else f"every {what} month"

    parts = [
        f"retention keeps {keeping(settings.keep_raw_months, 'raw')} and "
        f"{keeping(settings.keep_parsed_months, 'parsed')}",
        f"deleted raw {', '.join(raw_deleted) or 'nothing'}",
        f"deleted parsed {', '.join(parsed_deleted) or 'nothing'}",
    ]
    if plan.current:
        parts.append(f"current month {plan.current} (parsed output always kept)")
    if plan.unfinished:
        parts.append("kept, not loaded yet: " + ", ".join(
            f"{m} ({s})" for m, s in plan.unfinished.items()))
    if plan.busy:
        parts.append(f"kept, a run uses them: {', '.join(plan.busy)}")
    if errors:
        parts.append(f"failed: {', '.join(sorted(errors))}")
    return "; ".join(parts), errors


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name=SENSOR_NAME,
    description="After a monthly run succeeds, deletes raw dumps (beyond the newest "
    "DISCOGS_KEEP_RAW_MONTHS, default 2) and parsed output (beyond the newest "
    "DISCOGS_KEEP_PARSED_MONTHS, default 3) of months whose load completed; never a month a "
    "run is using, a failed or unloaded month, or the current month's parsed output.",
)
def raw_retention(context: dg.RunStatusSensorContext, settings: PipelineSettings,
                  warehouse: WarehouseResource) -> None:
    if run_month(context.dagster_run) is None:  # not a monthly run (UI asset runs included)
        return
    try:
        message, errors = apply_retention(context.instance, settings.data_path, warehouse)
        for what, error in errors.items():
            context.log.warning(f"retention: could not delete {what}: {error}")
        context.log.info(message)
    except Exception as exc:  # cleanup must never fail anything
        context.log.warning(f"retention pass failed, nothing else affected: {exc!r}")
