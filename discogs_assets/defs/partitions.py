"""One partition per dump month. ``end_offset=1``: the current month exists as soon as it starts."""

import dagster as dg

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date="2008-03", fmt="%Y-%m", end_offset=1)

# A backfill launches one run per month: each month is its own unit of retry, gate and
# processing-table status, and the download pool (not the run size) caps parallel transfers.
MONTHLY_BACKFILL = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)

OWNERS = ["team:data-platform"]
