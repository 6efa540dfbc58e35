"""The SQL warehouse: engines, schema models and monthly loads (the processing table is
owned by :mod:`discogs_assets.lib.lifecycle`)."""

from discogs_assets.lib.warehouse.engine import make_engine, redact_url
from discogs_assets.lib.warehouse.load import LoadResult, ShrinkGuardError, load_month
from discogs_assets.lib.warehouse.lock import WarehouseBusy
from discogs_assets.lib.warehouse.models import ModelRun, SqlModel, list_models, run_models

__all__ = [
    "LoadResult",
    "ModelRun",
    "ShrinkGuardError",
    "SqlModel",
    "WarehouseBusy",
    "list_models",
    "load_month",
    "make_engine",
    "redact_url",
    "run_models",
]
