"""The SQL warehouse resource: one engine per process; the schema is migrated only when asked."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from discogs_assets.lib.layout import default_warehouse_url
from discogs_assets.lib.lifecycle import MonthLifecycle
from discogs_assets.lib.settings import Settings
from discogs_assets.lib.warehouse import make_engine, redact_url, run_models


def _sqlite_file(url: str) -> Path | None:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return Path(parsed.database)
    return None


@cache
def _engine_for(url: str) -> sa.Engine:
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    return make_engine(url)


@cache
def _migrated(url: str) -> sa.Engine:
    # Models are idempotent (CREATE ... IF NOT EXISTS): once per process is enough.
    engine = _engine_for(url)
    run_models(engine)
    return engine


class WarehouseResource(dg.ConfigurableResource):
    """``DISCOGS_WAREHOUSE_URL`` (a SQLAlchemy URL); empty means a SQLite file in the data dir."""

    url: str = ""
    data_dir: str = "data"

    @classmethod
    def from_environment(cls, url: str | None = None) -> WarehouseResource:
        """The same warehouse the definitions use, for code outside a run (CLI, demo)."""
        settings = Settings.from_env()
        return cls(url=url or settings.warehouse_url, data_dir=str(settings.data_dir))

    @property
    def resolved_url(self) -> str:
        return self.url or default_warehouse_url(Path(self.data_dir).expanduser())

    def engine(self) -> sa.Engine:
        """The warehouse as it is: nothing is created or migrated."""
        return _engine_for(self.resolved_url)

    def migrate(self) -> sa.Engine:
        """Apply every dbt_like_sql/ model (once per process), then return the engine. Called
        explicitly: by the schema job, at the start of each monthly step, and by the sensors
        and commands that write."""
        return _migrated(self.resolved_url)

    def existing_engine(self) -> sa.Engine | None:
        """An engine, or None when the SQLite file does not exist yet: for reads that must
        not even create the file (the gate check before a run does anything)."""
        sqlite_file = _sqlite_file(self.resolved_url)
        if sqlite_file is not None and not sqlite_file.exists():
            return None
        return self.engine()

    def processing(self) -> MonthLifecycle:
        """The month lifecycle (the processing table) of a warehouse already migrated."""
        return MonthLifecycle(self.engine())

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for logs and metadata."""
        return redact_url(self.resolved_url)
