"""While the gate is off: cancel queued monthly runs and hold every month left in flight.

Held months are marked "gate disabled" (failed, not retried while the gate is off); the retry
sensor re-requests them once it is on again. A running run stops by itself: its next step
checks the gate and holds its month. This sensor also catches months stranded in flight by a
run that is gone (cancelled or killed) while the gate was off.
"""

import dagster as dg

from discogs_assets.lib.gate import GATED_MESSAGE
from discogs_assets.lib.lifecycle import ProcessingStatus
from discogs_assets.lib.orchestration.gate_flip import (
    GATE_DISABLED_NOTE,
    QueuedRun,
    plan_gate_cancellation,
)
from discogs_assets.lib.settings import Settings
from resources.gate import IngestionGateResource
from resources.warehouse import WarehouseResource
from sensors.runs import PARTITION_TAG, active_months, queued_runs

SENSOR_NAME = "discogs_gate_watch"
_IN_FLIGHT = (ProcessingStatus.DOWNLOADING, ProcessingStatus.READY_FOR_PROCESSING,
              ProcessingStatus.PROCESSING)


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=Settings.from_env().gate_watch_tick_s,
    description="While feature_discog_ingestion is off, cancels queued monthly runs and marks "
    "their months, and months left in flight, 'gate disabled' so they are re-requested once "
    "the gate is on again.",
)
def gate_watch_sensor(
    context: dg.SensorEvaluationContext,
    gate: IngestionGateResource,
    warehouse: WarehouseResource,
) -> dg.SkipReason:
    enabled, source = gate.state()
    if enabled:
        return dg.SkipReason(f"the gate is on (decided by {source}); nothing to cancel")
    runs = queued_runs(context.instance)
    plan = plan_gate_cancellation([QueuedRun(r.run_id, r.tags[PARTITION_TAG]) for r in runs])
    lifecycle = warehouse.processing()
    for run in runs:
        month = run.tags[PARTITION_TAG]
        note = plan.note(run.run_id)
        context.instance.report_run_canceled(run, message=f"{GATED_MESSAGE}: {note}")
        lifecycle.mark_gate_disabled(month, note=note, run_id=run.run_id)
        context.log.info(f"cancelled queued run {run.run_id} (month {month}): {note}")
    # Months in flight with no run left to finish them (a run died or was cancelled).
    busy = active_months(context.instance)
    stranded = [row["month"] for row in lifecycle.all()
                if row["status"] in _IN_FLIGHT and row["month"] not in busy]
    for month in stranded:
        lifecycle.mark_gate_disabled(
            month, note=f"{GATE_DISABLED_NOTE}: left in flight with no active run while "
            "feature_discog_ingestion is off")
        context.log.info(f"held month {month}: in flight with no active run, gate off")
    done = [f"cancelled {len(plan.run_ids)} queued run(s) for {', '.join(plan.months)}"
            ] if plan.run_ids else []
    done += [f"held stranded month(s) {', '.join(stranded)}"] if stranded else []
    return dg.SkipReason(f"{GATED_MESSAGE} (decided by {source}): "
                         + ("; ".join(done) or "no queued runs, no stranded months"))
