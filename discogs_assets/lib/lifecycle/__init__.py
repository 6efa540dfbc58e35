"""The month lifecycle: one processing row per month, phases per entity, named operations."""

from discogs_assets.lib.lifecycle.month import CHECKSUM_STEP, MonthLifecycle
from discogs_assets.lib.lifecycle.status import (
    EntityPhase,
    ProcessingStatus,
    Stage,
    derive_status,
)

__all__ = [
    "CHECKSUM_STEP",
    "EntityPhase",
    "MonthLifecycle",
    "ProcessingStatus",
    "Stage",
    "derive_status",
]
