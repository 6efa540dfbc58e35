"""When the gate goes off: cancel queued monthly runs and mark their months "gate disabled".

Marked months are not retried while the gate is off; the retry sensor re-requests them once it
is on again. Runs already started stop by themselves: their first step checks the gate.
"""

import dagster as dg

from discogs_assets.lib.gate import GATED_MESSAGE
from discogs_assets.lib.orchestration.gate_flip import QueuedRun, plan_gate_cancellation
from discogs_assets.lib.warehouse import ProcessingStatus
from resources.gate import IngestionGateResource
from resources.warehouse import WarehouseResource
from sensors.runs import PARTITION_TAG, queued_runs

SENSOR_NAME = "discogs_gate_watch"
GATE_WATCH_TICK_S = 60


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=GATE_WATCH_TICK_S,
    description="While feature_discog_ingestion is off, cancels queued monthly runs and marks "
    "their months 'gate disabled' so they are not retried until the gate is on again.",
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
    plan = plan_gate_cancellation(
        enabled, [QueuedRun(r.run_id, r.tags.get(PARTITION_TAG)) for r in runs]
    )
    table = warehouse.processing()
    for run in runs:
        month = run.tags.get(PARTITION_TAG)
        note = plan.note(run.run_id)
        context.instance.report_run_canceled(run, message=f"{GATED_MESSAGE}: {note}")
        if month:
            row = table.get(month)
            if row is None or row["status"] is not ProcessingStatus.COMPLETED:
                table.fail(month, error=note, retryable=False, run_id=run.run_id)
            table.update(month, gate_disabled=True, gate_note=note)
        context.log.info(f"cancelled queued run {run.run_id} (month {month}): {note}")
    if not plan.run_ids:
        return dg.SkipReason(f"{GATED_MESSAGE} (decided by {source}); no queued runs")
    return dg.SkipReason(f"{GATED_MESSAGE}: cancelled {len(plan.run_ids)} queued run(s) for "
                         f"{', '.join(plan.months) or 'no month'}")
