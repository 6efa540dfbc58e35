"""The monthly job: the whole chain for one month, checksum to caches."""

import dagster as dg

MONTHLY_JOB_NAME = "discogs_monthly"

monthly_job = dg.define_asset_job(
    MONTHLY_JOB_NAME,
    selection=dg.AssetSelection.groups("acquisition", "parsing", "warehouse", "caches"),
    description="Download, verify, parse and load one month of Discogs dumps, then warm the "
    "identity caches. Runs only when feature_discog_ingestion is on.",
)
