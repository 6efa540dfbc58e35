"""The jobs' names, Dagster-free: sensors and schedules target jobs by name without importing
the asset definitions (the jobs themselves are defined in ``defs/jobs.py``)."""

MONTHLY_JOB_NAME = "discogs_monthly"
SCHEMA_JOB_NAME = "warehouse_schema_job"
