"""A one-asset code location whose step fails and reports to Sentry the way the project's step
wrapper does, run by the project's own step executor (each step a forked process): loaded by
``dagster job execute -m tests.sentry_probe_location`` in tests/test_monitoring_sentry.py."""

import os

import dagster as dg

from discogs_assets.definitions import step_executor
from discogs_assets.lib.monitoring.sentry import capture_step_exception, init_sentry

MONTH = "2026-04"


def _load_month() -> None:
    # The step's process id goes into the error: the test checks it is not the run's process.
    raise RuntimeError(f"probe failed in process {os.getpid()} reading "
                       "postgresql://app:s3cret@db:5432/warehouse")


@dg.asset
def sentry_probe(context: dg.AssetExecutionContext) -> None:
    try:
        _load_month()
    except RuntimeError as exc:
        capture_step_exception(exc, month=MONTH, asset="sentry_probe", run_id=context.run_id,
                               attempt=context.retry_number + 1)
        raise


@dg.definitions
def defs() -> dg.Definitions:
    init_sentry()  # as discogs_assets/definitions.py does when a process loads the location
    return dg.Definitions(
        assets=[sentry_probe],
        jobs=[dg.define_asset_job("sentry_probe_job", selection=[sentry_probe])],
        executor=step_executor,
    )
