"""The month lifecycle: one processing row per month, phases per entity, named operations."""

from discogs_assets.lib.lifecycle.month import (
    CHECKSUM_STEP,
    ZERO_RECORDS_CONSTRAINT,
    MonthLifecycle,
    ZeroRecordsRefused,
)
from discogs_assets.lib.lifecycle.status import (
    EntityPhase,
    ProcessingStatus,
    Stage,
    derive_status,
)

__all__ = [
    "CHECKSUM_STEP",
    "ZERO_RECORDS_CONSTRAINT",
    "EntityPhase",
    "MonthLifecycle",
    "ProcessingStatus",
    "Stage",
    "ZeroRecordsRefused",
    "derive_status",
]
