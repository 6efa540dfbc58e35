"""Questions the sensors and the schedule ask the Dagster instance about monthly runs.

A "monthly run" is any run that materializes one month: the ``discogs_monthly`` job (schedule,
sensors, CLI backfills) and the runs the UI launches from asset pages and asset backfills (the
implicit asset job, ``__ASSET_JOB``). Both carry the month as their partition tag.
"""

import dagster as dg

from discogs_assets.lib.job_names import MONTHLY_JOB_NAME
from discogs_assets.lib.layout import MONTH_RE

PARTITION_TAG = "dagster/partition"
ASSET_JOB_PREFIX = "__ASSET_JOB"  # Dagster's implicit job for runs launched from asset pages
QUEUED_STATUSES = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED)
# dagster's IN_PROGRESS_RUN_STATUSES leaves out queued runs; a queued run is busy for us too.
ACTIVE_STATUSES = (
    *QUEUED_STATUSES,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


def run_month(run: dg.DagsterRun) -> str | None:
    """The month a monthly run materializes, None for any other run."""
    month = run.tags.get(PARTITION_TAG)
    if not month or not MONTH_RE.match(month):
        return None
    if run.job_name == MONTHLY_JOB_NAME or run.job_name.startswith(ASSET_JOB_PREFIX):
        return month
    return None


def _monthly_runs(instance: dg.DagsterInstance,
                  statuses: tuple[dg.DagsterRunStatus, ...]) -> list[dg.DagsterRun]:
    # No job filter: asset-page runs share no job name with the monthly job. Active runs are
    # few, so filtering them here is cheap.
    records = instance.get_run_records(dg.RunsFilter(statuses=list(statuses)))
    return [r.dagster_run for r in records if run_month(r.dagster_run)]


def active_months(instance: dg.DagsterInstance) -> set[str]:
    """Months with a monthly run queued, starting, running or cancelling."""
    return {run.tags[PARTITION_TAG] for run in _monthly_runs(instance, ACTIVE_STATUSES)}


def queued_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Monthly runs waiting in the queue (not yet started)."""
    return _monthly_runs(instance, QUEUED_STATUSES)
