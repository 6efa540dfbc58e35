"""Questions the sensors and the schedule ask the Dagster instance about monthly runs."""

import dagster as dg

from discogs_assets.defs.jobs import MONTHLY_JOB_NAME

PARTITION_TAG = "dagster/partition"
QUEUED_STATUSES = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED)
# dagster's IN_PROGRESS_RUN_STATUSES leaves out queued runs; a queued run is busy for us too.
ACTIVE_STATUSES = (
    *QUEUED_STATUSES,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


def active_months(instance: dg.DagsterInstance) -> set[str]:
    """Months with a monthly run queued, starting, running or cancelling."""
    records = instance.get_run_records(
        dg.RunsFilter(job_name=MONTHLY_JOB_NAME, statuses=list(ACTIVE_STATUSES))
    )
    return {r.dagster_run.tags[PARTITION_TAG] for r in records
            if PARTITION_TAG in r.dagster_run.tags}


def queued_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Monthly runs waiting in the queue (not yet started)."""
    return [r.dagster_run for r in instance.get_run_records(
        dg.RunsFilter(job_name=MONTHLY_JOB_NAME, statuses=list(QUEUED_STATUSES))
    )]

