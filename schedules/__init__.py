"""Schedules of the monthly job."""

import dagster as dg


def all_schedules() -> list[dg.ScheduleDefinition]:
    return []
