"""The code location: everything under ``defs/`` plus top-level resources, sensors, schedules."""

import dagster as dg

import discogs_assets.defs
import schedules
import sensors
from resources import build_resources


@dg.definitions
def defs() -> dg.Definitions:
    # Loaded from the package, not through the dg project file: an installed wheel has no
    # pyproject.toml to find, and the defs folder is all plain modules (no components).
    return dg.Definitions.merge(
        dg.load_definitions_from_package_module(discogs_assets.defs),
        dg.Definitions(
            resources=build_resources(),
            sensors=sensors.all_sensors(),
            schedules=schedules.all_schedules(),
        ),
    )
