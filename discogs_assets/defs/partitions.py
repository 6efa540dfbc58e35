"""One partition per dump month (``end_offset=1``: the current month exists as soon as it
starts), and the per-month asset check specs."""

import warnings

import dagster as dg

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date="2008-03", fmt="%Y-%m", end_offset=1)

# A backfill launches one run per month: each month is its own unit of retry, gate and
# processing-table status, and the download pool (not the run size) caps parallel transfers.
MONTHLY_BACKFILL = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)

OWNERS = ["team:data-platform"]

# Per-month check results need partitioned check specs, a preview feature in Dagster 1.13 that
# works as documented; its warning on every load would drown the run logs.
warnings.filterwarnings(
    "ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*"
)


def monthly_check(name: str, asset: str, description: str, *,
                  blocking: bool = False) -> dg.AssetCheckSpec:
    """A check of one month's partition, declared with its asset (``check_specs``) so the asset's
    own step evaluates it: a check of its own would cost a step process. A failed blocking
    check fails that step, so no downstream step runs."""
    return dg.AssetCheckSpec(name, asset=asset, description=description, blocking=blocking,
                             partitions_def=monthly_partitions)
