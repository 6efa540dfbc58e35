"""Daily at 02:00 UTC: run the current month's chain once its dump is published, until the
month is complete; before publication skip (one listing request), and alert once a day from
``DISCOGS_DUMP_LATE_DAY`` on.

``build_schedule_from_partitioned_job`` would give a monthly cron on a monthly partitions
definition, so this is a plain ``@schedule`` that picks the partition key itself. The current
month is a valid key at once because the partitions have ``end_offset=1``.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from discogs_assets.lib.gate import GATED_MESSAGE
from discogs_assets.lib.job_names import MONTHLY_JOB_NAME
from discogs_assets.lib.layout import month_of
from discogs_assets.lib.lifecycle import MonthLifecycle
from discogs_assets.lib.orchestration.alerts import Alert
from discogs_assets.lib.orchestration.schedule import (
    check_publication,
    current_month_decision,
    is_catch_up_tick,
    needs_listing,
    schedule_run_key,
)
from discogs_assets.lib.settings import Settings
from resources.alerts import send_alert
from resources.dump_source import DumpSourceResource
from resources.gate import IngestionGateResource
from resources.warehouse import WarehouseResource
from sensors.runs import active_months

DAILY_CRON = "0 2 * * *"
SCHEDULE_NAME = "discogs_daily_current_month"


@dg.schedule(
    name=SCHEDULE_NAME,
    cron_schedule=DAILY_CRON,
    execution_timezone="UTC",
    job_name=MONTHLY_JOB_NAME,
    description="Every day at 02:00 UTC, run the current month's chain once its dump is "
    "published, until the month is complete (one listing request); alerts when the dump is "
    "late (DISCOGS_DUMP_LATE_DAY); skips while feature_discog_ingestion is off.",
)
def daily_current_month(
    context: dg.ScheduleEvaluationContext,
    gate: IngestionGateResource,
    warehouse: WarehouseResource,
    dump_source: DumpSourceResource,
) -> dg.RunRequest | dg.SkipReason:
    enabled, source = gate.state()
    if not enabled:
        return dg.SkipReason(f"{GATED_MESSAGE} (decided by {source})")
    now = datetime.now(UTC)
    scheduled = context.scheduled_execution_time or now
    if is_catch_up_tick(scheduled, now):
        return dg.SkipReason(f"missed tick of {scheduled.date().isoformat()} evaluated late: "
                             "skipped (the newest tick asks the host)")
    month = month_of(scheduled.date())
    lifecycle = warehouse.processing()  # read only; migrated below if the host asks to wait
    row = lifecycle.get(month)
    status = str(row["status"]) if row else None
    busy = month in active_months(context.instance)
    listing = None
    if needs_listing(status=status, busy=busy):
        host = dump_source.host()
        wait = lifecycle.host_backoff_until(host, now)
        if wait is not None:  # the host's Retry-After binds every process: no request
            return dg.SkipReason(f"{month}: the dump host asked us to wait: no request before "
                                 f"{wait[0].isoformat()} ({wait[1]})")
        with dump_source.get_source(log=context.log, max_attempts=1) as dumps:
            listing = check_publication(dumps, month)
        if listing.retry_after is not None:
            MonthLifecycle(warehouse.migrate()).record_host_backoff(
                host, now + timedelta(seconds=listing.retry_after),
                f"{SCHEDULE_NAME}: {listing.detail}")
    decision = current_month_decision(listing, scheduled.date(),
                                      late_day=Settings.from_env().dump_late_day,
                                      status=status, busy=busy)
    if decision.late:
        send_alert(Alert(kind="dump_late", level="warning", message=decision.reason,
                         month=month), context.log)
    if not decision.run:
        return dg.SkipReason(decision.reason)
    context.log.info(decision.reason)
    return dg.RunRequest(
        run_key=schedule_run_key(decision.month, scheduled),
        partition_key=decision.month,
        tags={"discogs/trigger": "daily_schedule"},
    )
