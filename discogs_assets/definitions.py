"""The code location: everything under ``defs/`` plus top-level resources, sensors, schedules."""

from pathlib import Path

import dagster as dg

import schedules
import sensors
from resources import build_resources

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(project_root=PROJECT_ROOT),
        dg.Definitions(
            resources=build_resources(),
            sensors=sensors.all_sensors(),
            schedules=schedules.all_schedules(),
        ),
    )
