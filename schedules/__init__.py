"""Schedules of the monthly job."""

import dagster as dg

from schedules.daily import daily_current_month


def all_schedules() -> list[dg.ScheduleDefinition]:
    return [daily_current_month]
