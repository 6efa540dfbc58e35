"""What switching the gate off does to queued work: which runs to cancel, which months to mark."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

GATE_DISABLED_NOTE = "gate disabled"


@dataclass(frozen=True)
class QueuedRun:
    run_id: str
    month: str | None  # the run's partition key (None for an unpartitioned run)


@dataclass(frozen=True)
class GateCancellation:
    run_ids: list[str]
    months: list[str]  # months to mark "gate disabled" in the processing table

    def note(self, run_id: str) -> str:
        return (f"{GATE_DISABLED_NOTE}: queued run {run_id} cancelled because "
                "feature_discog_ingestion is off")


def plan_gate_cancellation(gate_enabled: bool, queued: Iterable[QueuedRun]) -> GateCancellation:
    """Nothing when the gate is on; otherwise every queued run, and each month once."""
    if gate_enabled:
        return GateCancellation([], [])
    runs = list(queued)
    months = sorted({r.month for r in runs if r.month})
    return GateCancellation([r.run_id for r in runs], months)
