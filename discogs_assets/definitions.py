"""The code location: everything under ``defs/`` plus top-level resources, sensors, schedules."""

import dagster as dg

import discogs_assets.defs
import schedules
import sensors
from discogs_assets.executors import select_executor
from discogs_assets.lib.settings import Settings
from resources import build_resources


@dg.definitions
def defs() -> dg.Definitions:
    # Loaded from the package, not through the dg project file: an installed wheel has no
    # pyproject.toml to find, and the defs folder is all plain modules (no components).
    settings = Settings.from_env()
    return dg.Definitions.merge(
        dg.load_definitions_from_package_module(discogs_assets.defs),
        dg.Definitions(
            resources=build_resources(settings),
            sensors=sensors.all_sensors(),
            schedules=schedules.all_schedules(),
            # DISCOGS_EXECUTOR: every run's steps on this machine or on Celery workers.
            executor=select_executor(settings),
        ),
    )
