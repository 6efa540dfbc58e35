"""The code location: everything under ``defs/`` plus top-level resources, sensors, schedules."""

from typing import Any

import dagster as dg

import discogs_assets.defs
import schedules
import sensors
from discogs_assets.executors import select_executor
from discogs_assets.lib.monitoring.sentry import init_sentry
from discogs_assets.lib.settings import Settings
from resources import build_resources

# Each step of the multiprocess executor is a process of its own. Spawned, it imports Dagster
# and this code location from scratch (≈ 6 s a step on 2 cores); forked from a server that has
# imported them once per run, it starts in a fraction of that. Only modules that start no
# thread when imported belong here: a fork copies no thread, so a lock one held stays locked in
# every step (and Python 3.12+ warns on each fork). polars, pyarrow and pandera start allocator
# and spill threads on import, and this project's modules import polars, so steps import those
# themselves (≈ 0.7 s); tests/test_executor.py holds the list to both rules. The forkserver
# lives as long as the process that started it (one run's process under the daemon or the CLI),
# and steps inherit its environment, not the one of the moment they start.
STEP_PRELOAD_MODULES = (
    "dagster",
    "dagster_postgres",
    "sqlalchemy",
    "psycopg",
    "httpx",
    "sentry_sdk",
    "pydantic",
    "lxml.etree",
    "isal.igzip",
    "xml2arrow",
    "filelock",
    "tenacity",
    "pyrate_limiter",
    "concurrent.futures",
)


def _forkserver_config(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "max_concurrent": config.get("max_concurrent"),
        "start_method": {"forkserver": {"preload_modules": list(STEP_PRELOAD_MODULES)}},
    }


# The default executor of every job here, ``discogs_monthly`` and the UI's ``__ASSET_JOB`` alike;
# run config may still set ``max_concurrent`` (unset: DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT,
# else the CPU count).
step_executor = dg.multiprocess_executor.configured(
    _forkserver_config, config_schema={"max_concurrent": dg.Field(int, is_required=False)}
)


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    # Every process that runs this project's code loads this location first (webserver, daemon,
    # run workers, each step): Sentry is set up there once, for step exceptions and alerts.
    init_sentry(settings)
    # Loaded from the package, not through the dg project file: an installed wheel has no
    # pyproject.toml to find, and the defs folder is all plain modules (no components).
    return dg.Definitions.merge(
        dg.load_definitions_from_package_module(discogs_assets.defs),
        dg.Definitions(
            resources=build_resources(settings),
            sensors=sensors.all_sensors(),
            schedules=schedules.all_schedules(),
            # DISCOGS_EXECUTOR: every run's steps on this machine (the forkserver executor) or
            # on Celery workers.
            executor=select_executor(settings) or step_executor,
        ),
    )
