"""The daily operations summary: failed months, the pending queue, stale months, months parsed
by an older parser, free disk of the data directory (an alert below DISCOGS_MIN_FREE_DISK_GB),
and the freshness of the latest published month (reported as the
``latest_month_fresh`` check evaluation, so it shows in the UI and alerts between runs)."""

from datetime import UTC, datetime

import dagster as dg

from discogs_assets.lib.acquisition.download import human_bytes
from discogs_assets.lib.orchestration import freshness
from discogs_assets.lib.orchestration.alerts import Alert
from discogs_assets.lib.orchestration.summary import disk_space, summarize
from discogs_assets.lib.parsing import PARSER_VERSION
from discogs_assets.lib.settings import Settings
from resources.alerts import send_alert
from resources.settings import PipelineSettings
from resources.warehouse import WarehouseResource

SENSOR_NAME = "discogs_daily_summary"
DAY_S = 24 * 3600


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=DAY_S,
    description="Once a day: logs failed months, the pending queue, stale months, months "
    "parsed by an older parser and the data disk's free space (alerts below "
    "DISCOGS_MIN_FREE_DISK_GB), and evaluates latest_month_fresh.",
)
def daily_summary(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                  settings: PipelineSettings) -> dg.SensorResult:
    table = warehouse.processing()
    now = datetime.now(UTC)
    rows = table.all()
    config = Settings.from_env()
    summary = summarize(rows, now, parser_version=PARSER_VERSION)
    disk = disk_space(settings.data_path, min_free_gb=config.min_free_disk_gb)
    text = f"{summary.text()}; {disk.text()}"
    context.log.info(Alert(kind="summary", level="info", message=text,
                           extra={"failed": summary.failed, "pending": summary.pending,
                                  "stale": summary.stale,
                                  "older_parser": summary.older_parser,
                                  "free_disk_bytes": disk.free_bytes,
                                  "free_disk": human_bytes(disk.free_bytes),
                                  "min_free_disk_bytes": disk.min_free_bytes}).log_line())
    if disk.low:
        send_alert(Alert(kind="disk_low", level="warning",
                         message=f"{settings.data_path}: {disk.text()}"), context.log)
    if summary.older_parser:
        context.log.warning(
            f"{len(summary.older_parser)} month(s) parsed by a parser older than "
            f"{PARSER_VERSION}: {', '.join(summary.older_parser)}; backfill them (README: "
            "'Re-parsing after a parser upgrade')")
    max_days = config.freshness_days
    fresh = freshness.latest_month_freshness(rows, now, max_days)
    if not fresh.passed:
        send_alert(Alert(kind="freshness", level="warning", message=fresh.reason,
                         month=fresh.month), context.log)
    return dg.SensorResult(
        skip_reason=text,
        asset_events=[dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(freshness.CHECK_ASSET), check_name=freshness.CHECK_NAME,
            passed=fresh.passed, severity=dg.AssetCheckSeverity.WARN, description=fresh.reason,
            metadata={"month": fresh.month or "", "max_days": max_days},
        )],
    )
