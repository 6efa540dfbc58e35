"""Sensors: new dumps, retries, alerts, freshness."""

import dagster as dg


def all_sensors() -> list[dg.SensorDefinition]:
    return []
