"""Daily at 02:00 UTC: run the current month's chain until that month is complete.

``build_schedule_from_partitioned_job`` would give a monthly cron on a monthly partitions
definition, so this is a plain ``@schedule`` that picks the partition key itself. The current
month is a valid key at once because the partitions have ``end_offset=1``.
"""

from datetime import UTC, datetime

import dagster as dg

from discogs_assets.defs.jobs import MONTHLY_JOB_NAME
from discogs_assets.lib.gate import GATED_MESSAGE
from discogs_assets.lib.layout import month_of
from discogs_assets.lib.orchestration.schedule import current_month_decision, schedule_run_key
from resources.gate import IngestionGateResource
from resources.warehouse import WarehouseResource
from sensors.runs import active_months

DAILY_CRON = "0 2 * * *"


@dg.schedule(
    name="discogs_daily_current_month",
    cron_schedule=DAILY_CRON,
    execution_timezone="UTC",
    job_name=MONTHLY_JOB_NAME,
    description="Every day at 02:00 UTC, run the current month's chain until the month is "
    "complete; skips while feature_discog_ingestion is off.",
)
def daily_current_month(
    context: dg.ScheduleEvaluationContext,
    gate: IngestionGateResource,
    warehouse: WarehouseResource,
) -> dg.RunRequest | dg.SkipReason:
    enabled, source = gate.state()
    if not enabled:
        return dg.SkipReason(f"{GATED_MESSAGE} (decided by {source})")
    scheduled = context.scheduled_execution_time or datetime.now(UTC)
    month = month_of(scheduled.date())
    row = warehouse.processing().get(month)
    decision = current_month_decision(
        scheduled,
        status=str(row["status"]) if row else None,
        busy=month in active_months(context.instance),
    )
    if not decision.run:
        return dg.SkipReason(decision.reason)
    context.log.info(decision.reason)
    return dg.RunRequest(
        run_key=schedule_run_key(decision.month, scheduled),
        partition_key=decision.month,
        tags={"discogs/trigger": "daily_schedule"},
    )
