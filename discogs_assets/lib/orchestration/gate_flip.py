"""What switching the gate off does to queued work: which runs to cancel, which months to mark."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

GATE_DISABLED_NOTE = "gate disabled"


@dataclass(frozen=True)
class QueuedRun:
    run_id: str
    month: str  # the month the run materializes


@dataclass(frozen=True)
class GateCancellation:
    run_ids: list[str]
    months: list[str]  # months to mark "gate disabled" in the processing table

    def note(self, run_id: str) -> str:
        return (f"{GATE_DISABLED_NOTE}: queued run {run_id} cancelled because "
                "feature_discog_ingestion is off")


def plan_gate_cancellation(queued: Iterable[QueuedRun]) -> GateCancellation:
    """With the gate off: every queued monthly run, and each of their months once."""
    runs = list(queued)
    months = sorted({r.month for r in runs})
    return GateCancellation([r.run_id for r in runs], months)
