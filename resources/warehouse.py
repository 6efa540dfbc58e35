"""The SQL warehouse resource: one engine per process, schema migrated on first use."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from discogs_assets.lib.layout import default_warehouse_url
from discogs_assets.lib.warehouse import ProcessingTable, make_engine, redact_url, run_models
from resources.settings import DEFAULT_DATA_DIR


@cache
def _engine_for(url: str) -> sa.Engine:
    # Models are idempotent (CREATE ... IF NOT EXISTS), so migrating once per process is cheap
    # and means no stage can meet a missing table.
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    run_models(engine)
    return engine


class WarehouseResource(dg.ConfigurableResource):
    """``DISCOGS_WAREHOUSE_URL`` (a SQLAlchemy URL); empty means a SQLite file in the data dir."""

    url: str = ""
    data_dir: str = DEFAULT_DATA_DIR

    @classmethod
    def from_environment(cls, url: str | None = None) -> WarehouseResource:
        """The same warehouse the definitions use, for code outside a run (CLI, demo)."""
        return cls(url=url or os.environ.get("DISCOGS_WAREHOUSE_URL", ""),
                   data_dir=os.environ.get("DISCOGS_DATA_DIR") or DEFAULT_DATA_DIR)

    @property
    def resolved_url(self) -> str:
        return self.url or default_warehouse_url(Path(self.data_dir).expanduser())

    def engine(self) -> sa.Engine:
        return _engine_for(self.resolved_url)

    def processing(self) -> ProcessingTable:
        return ProcessingTable(self.engine())

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for logs and metadata."""
        return redact_url(self.resolved_url)
