"""The daily operations summary: failed months, the pending queue, stale months, months parsed
by an older parser, and the freshness of the latest published month (reported as the
``latest_month_fresh`` check evaluation, so it shows in the UI and alerts between runs)."""

from datetime import UTC, datetime

import dagster as dg

from discogs_assets.defs.checks import freshness_evaluation, freshness_result
from discogs_assets.lib.orchestration.alerts import Alert
from discogs_assets.lib.orchestration.summary import summarize
from discogs_assets.lib.parsing import PARSER_VERSION
from discogs_assets.lib.settings import Settings
from resources.alerts import send_alert
from resources.warehouse import WarehouseResource

SENSOR_NAME = "discogs_daily_summary"
DAY_S = 24 * 3600


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=DAY_S,
    description="Once a day: logs failed months, the pending queue, stale months and months "
    "parsed by an older parser, and evaluates latest_month_fresh.",
)
def daily_summary(context: dg.SensorEvaluationContext,
                  warehouse: WarehouseResource) -> dg.SensorResult:
    table = warehouse.processing()
    now = datetime.now(UTC)
    summary = summarize(table.all(), now, parser_version=PARSER_VERSION)
    context.log.info(Alert(kind="summary", level="info", message=summary.text(),
                           extra={"failed": summary.failed, "pending": summary.pending,
                                  "stale": summary.stale,
                                  "older_parser": summary.older_parser}).log_line())
    if summary.older_parser:
        context.log.warning(
            f"{len(summary.older_parser)} month(s) parsed by a parser older than "
            f"{PARSER_VERSION}: {', '.join(summary.older_parser)}; backfill them (README: "
            "'Re-parsing after a parser upgrade')")
    max_days = Settings.from_env().freshness_days
    fresh = freshness_result(table, now, max_days)
    if not fresh.passed:
        send_alert(Alert(kind="freshness", level="warning", message=fresh.reason,
                         month=fresh.month), context.log)
    return dg.SensorResult(
        skip_reason=summary.text(),
        asset_events=[freshness_evaluation(fresh, max_days)],
    )
