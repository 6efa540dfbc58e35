"""``make run``: build the sample mirror and run the whole chain for its months, then summarise."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from discogs_assets.instance import data_dir_from_env, ensure_dagster_home
from discogs_assets.lib.tables import TABLES

# The full event log is in the instance (and the UI); the terminal gets warnings and errors.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run_demo(months: Sequence[str], scale: int, print_fn: Callable[[str], None] = print) -> int:
    # Imported here so `discogs-pipeline sample-mirror` stays light.
    import dagster as dg

    from discogs_assets.lib.caches import import_identities
    from discogs_assets.lib.job_names import MONTHLY_JOB_NAME, SCHEMA_JOB_NAME
    from discogs_assets.lib.sample_mirror import build_sample_mirror

    started = time.monotonic()
    data_dir = data_dir_from_env()
    mirror = data_dir / "mirror"
    summary = build_sample_mirror(mirror, months=months, scale=scale)
    print_fn(f"sample mirror: {mirror} (months {', '.join(summary.months)})")
    os.environ["DISCOGS_DATA_DIR"] = str(data_dir)
    os.environ["DISCOGS_DUMPS_URL"] = mirror.as_uri()
    # The gate is off by default everywhere; the demo turns it on for this process only.
    os.environ["DISCOGS_INGESTION_ENABLED"] = "true"
    print_fn("feature_discog_ingestion: switched ON for this demo run only "
             "(DISCOGS_INGESTION_ENABLED=true in this process; off by default)")
    home = ensure_dagster_home(data_dir)

    from discogs_assets.definitions import defs as build_definitions
    from resources.warehouse import WarehouseResource

    defs = build_definitions()
    warehouse = WarehouseResource.from_environment()
    engine = warehouse.migrate()
    report = import_identities(engine, mirror / "identities.csv")
    print_fn(f"identities imported: {report}")
    job = defs.resolve_job_def(MONTHLY_JOB_NAME)
    with dg.DagsterInstance.get() as instance:
        schema = defs.resolve_job_def(SCHEMA_JOB_NAME).execute_in_process(
            instance=instance, run_config=QUIET_CONSOLE)
        print_fn(f"warehouse schema: {len(schema.get_asset_materialization_events())} models "
                 "applied")
        for month in summary.months:
            result = job.execute_in_process(partition_key=month, instance=instance,
                                            raise_on_error=False, run_config=QUIET_CONSOLE)
            state = "succeeded" if result.success else "FAILED"
            print_fn(f"month {month}: run {result.run_id} {state}")
            if not result.success:
                for event in result.all_events:
                    if event.is_failure:
                        print_fn(f"  {event.step_key}: {event.message}")
                return 1
    _print_summary(engine, print_fn)
    print_fn(f"data dir:   {data_dir}")
    print_fn(f"warehouse:  {warehouse.safe_url}")
    print_fn(f"DAGSTER_HOME: {home}")
    print_fn("UI:         make dev  (then open http://127.0.0.1:3000)")
    print_fn(f"wall time:  {time.monotonic() - started:.1f} s")
    return 0


def _print_summary(engine: sa.Engine, print_fn: Callable[[str], None]) -> None:
    print_fn("\nwarehouse rows (current):")
    with engine.connect() as conn:
        for table in TABLES:
            where = " WHERE removed_in_month IS NULL" if table.is_root else ""
            count = conn.execute(sa.text(f"SELECT count(*) FROM {table.name}{where}")).scalar_one()
            print_fn(f"  {table.name:<22} {count:>8}")
        print_fn("\nchanges per month (month_changes):")
        print_fn(f"  {'month':<8} {'entity':<9} {'added':>7} {'changed':>7} {'removed':>7} "
                 f"{'revived':>7} {'unchanged':>9}")
        rows = conn.execute(sa.text(
            "SELECT month, entity, added, changed, removed, revived, unchanged "
            "FROM month_changes ORDER BY month, entity")).all()
        for m, e, added, changed, removed, revived, unchanged in rows:
            print_fn(f"  {m:<8} {e:<9} {added:>7} {changed:>7} {removed:>7} {revived:>7} "
                     f"{unchanged:>9}")

