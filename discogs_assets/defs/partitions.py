"""One partition per dump month. ``end_offset=1``: the current month exists as soon as it starts."""

import dagster as dg

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date="2008-03", fmt="%Y-%m", end_offset=1)

OWNERS = ["team:data-platform"]
