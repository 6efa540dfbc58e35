"""Sensors: new dumps, retries, the gate, alerts, retention and the daily summary."""

import dagster as dg

from sensors.alerts import check_failure_alert, run_failure_alert
from sensors.daily_summary import daily_summary
from sensors.gate_watch import gate_watch_sensor
from sensors.new_dump import new_dump_sensor
from sensors.retention import raw_retention
from sensors.retry import retry_sensor


def all_sensors() -> list[dg.SensorDefinition]:
    return [
        new_dump_sensor,
        retry_sensor,
        gate_watch_sensor,
        run_failure_alert,
        check_failure_alert,
        raw_retention,
        daily_summary,
    ]
