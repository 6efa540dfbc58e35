"""The embedded Dagster instance home: ``<data dir>/dagster_home`` with a ``dagster.yaml``.

Production uses ``deploy/dagster.yaml`` (PostgreSQL storage) instead; see the README.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from discogs_assets.lib.atomic import write_bytes_atomic
from discogs_assets.lib.settings import Settings

if TYPE_CHECKING:
    from dagster import DagsterInstance

LOCAL_INSTANCE_YAML = """\
# Local (embedded) Dagster instance: SQLite storage inside this DAGSTER_HOME.
# Written by discogs-pipeline on first use; edit freely, it is not overwritten.
telemetry:
  enabled: false
concurrency:
  pools:
    # Caps parallel steps per pool across runs (discogs_downloads: raw_*; discogs_warehouse).
    default_limit: 2
  runs:
    max_concurrent_runs: 4
run_retries:
  enabled: true
  max_retries: 1
"""


LML_POOL = "lml_refresh"
POOL_LIMITS = {LML_POOL: 1}
"""Pools whose limit differs from the instance's ``default_limit`` (a dagster.yaml cannot set
one pool's limit): one LML refresh at a time, however many runs (backfills) are in flight."""


def postgres_storage(url: str) -> dict[str, Any]:
    """The ``storage`` section of a ``dagster.yaml`` keeping runs, events and schedules in the
    PostgreSQL database at ``url`` (a SQLAlchemy URL): for the throwaway instances of tests and
    benchmarks (production's ``deploy/dagster.yaml`` reads ``DAGSTER_PG_*`` instead)."""
    import sqlalchemy as sa

    db = sa.make_url(url)
    config: dict[str, Any] = {
        "hostname": db.host or "127.0.0.1", "port": db.port or 5432,
        "username": db.username or "postgres", "db_name": db.database,
        # psycopg 3 breaks dagster-postgres's NOTIFY (see deploy/dagster.yaml)
        "scheme": "postgresql+psycopg2"}
    if db.password:
        config["password"] = db.password
    return {"postgres": {"postgres_db": config}}


def ensure_pool_limits(instance: DagsterInstance) -> None:
    """Set each of ``POOL_LIMITS`` the instance does not know yet (an operator's own setting,
    made with ``dagster instance concurrency set``, is left alone)."""
    storage = instance.event_log_storage
    for pool, limit in POOL_LIMITS.items():
        if pool not in storage.get_concurrency_keys():
            storage.set_concurrency_slots(pool, limit)


def data_dir_from_env() -> Path:
    return Settings.from_env().data_path


def ensure_dagster_home(data_dir: Path | None = None) -> Path:
    """Use ``$DAGSTER_HOME`` when set, else ``<data dir>/dagster_home``; create it with a
    ``dagster.yaml`` on first use. Sets ``DAGSTER_HOME`` for this process."""
    default = (data_dir or data_dir_from_env()) / "dagster_home"
    home = Path(os.environ.get("DAGSTER_HOME") or default).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        write_bytes_atomic(config, LOCAL_INSTANCE_YAML.encode())
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def check_instance() -> str:
    """For ``discogs-pipeline verify``: the Dagster instance loads and its run storage answers.
    Never creates one (unlike :func:`ensure_dagster_home`)."""
    from dagster import DagsterInstance

    from discogs_assets.lib.monitoring.verify import CheckFailed

    home = Path(os.environ.get("DAGSTER_HOME") or data_dir_from_env() / "dagster_home")
    if not home.is_dir():
        raise CheckFailed(f"no Dagster instance at {home}: set DAGSTER_HOME (production: "
                          "deploy/dagster.yaml) or run `discogs-pipeline init-home`")
    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs_count()
        storage = type(instance.run_storage).__name__
    return f"{home}: {storage}, {runs} run(s) recorded"
