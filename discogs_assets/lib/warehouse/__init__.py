"""The SQL warehouse: engines, schema models, the processing table and monthly loads."""

from discogs_assets.lib.warehouse.engine import make_engine, redact_url
from discogs_assets.lib.warehouse.load import LoadResult, ShrinkGuardError, load_month
from discogs_assets.lib.warehouse.lock import WarehouseBusy
from discogs_assets.lib.warehouse.models import ModelRun, SqlModel, list_models, run_models
from discogs_assets.lib.warehouse.processing import (
    InvalidTransition,
    ProcessingStatus,
    ProcessingTable,
)

__all__ = [
    "InvalidTransition",
    "LoadResult",
    "ModelRun",
    "ProcessingStatus",
    "ProcessingTable",
    "ShrinkGuardError",
    "SqlModel",
    "WarehouseBusy",
    "list_models",
    "load_month",
    "make_engine",
    "redact_url",
    "run_models",
]
