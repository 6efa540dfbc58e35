"""The embedded Dagster instance home: ``<data dir>/dagster_home`` with a ``dagster.yaml``.

Production uses ``deploy/dagster.yaml`` (PostgreSQL storage) instead; see the README.
"""

from __future__ import annotations

import os
from pathlib import Path

from discogs_assets.lib.atomic import write_bytes_atomic
from discogs_assets.lib.settings import Settings

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
