"""Jobs: the monthly chain, and the (unpartitioned) warehouse schema models."""

import dagster as dg

from discogs_assets.lib.job_names import MONTHLY_JOB_NAME, SCHEMA_JOB_NAME

monthly_job = dg.define_asset_job(
    MONTHLY_JOB_NAME,
    selection=dg.AssetSelection.groups("acquisition", "parsing", "warehouse", "caches"),
    description="Download, verify, parse and load one month of Discogs dumps, then warm the "
    "identity caches. Runs only when feature_discog_ingestion is on.",
)

schema_job = dg.define_asset_job(
    SCHEMA_JOB_NAME,
    selection=dg.AssetSelection.groups("warehouse_schema"),
    description="Apply every dbt_like_sql/ model (tables, indexes, views) in dependency order; "
    "safe to rerun.",
)
