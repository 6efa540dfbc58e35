"""Alerts for failed runs and failed asset checks (OSS Dagster has no built-in check alerts).

Each alert is a structured log line, and a Sentry event when ``SENTRY_DSN`` is set, tagged with
month, asset, run id and attempt. A failed run whose month the processing table does not show
as failed by this run (a blocking check, a crash outside a step) gets the error recorded there.
"""

import json

import dagster as dg

from discogs_assets.lib.gate import GATED_MESSAGE
from discogs_assets.lib.lifecycle import MonthLifecycle
from discogs_assets.lib.orchestration.alerts import Alert
from discogs_assets.lib.settings import Settings
from resources.alerts import send_alert
from resources.warehouse import WarehouseResource
from sensors.check_history import failed_check_records
from sensors.runs import run_month

RUN_FAILURE_SENSOR = "discogs_run_failure_alert"
CHECK_FAILURE_SENSOR = "discogs_check_failure_alert"
HISTORY_PER_CHECK = 50
BLOCKING_CHECK_MARKER = "blocking asset check failed"  # Dagster's DagsterAssetCheckFailedError


@dg.run_failure_sensor(
    name=RUN_FAILURE_SENSOR,
    description="Alerts on every failed monthly run — the monthly job and runs launched from "
    "asset pages or asset backfills (Sentry when SENTRY_DSN is set, a structured log line "
    "always) — and records the error in the processing table.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, warehouse: WarehouseResource) -> None:
    run = context.dagster_run
    month = run_month(run)
    if month is None:
        return
    steps = context.get_step_failure_events()
    errors = [
        (e.step_key, e.event_specific_data.error.message.strip() if e.event_specific_data
         and e.event_specific_data.error else e.message or "")
        for e in steps
    ]
    summary = "; ".join(f"{step}: {msg}" for step, msg in errors) or (
        context.failure_event.message or "run failed"
    )
    if GATED_MESSAGE in summary:
        # Expected while the gate is off: no alert. A month in flight was already marked "gate
        # disabled" by the step that met the gate; a month never started stays untouched.
        context.log.info(f"run {run.run_id} for {month} stopped by the gate: {summary}")
        return
    lifecycle = MonthLifecycle(warehouse.migrate())  # a run that died before any step
    row = lifecycle.get(month)
    if row is None or str(row["status"]) != "failed" or row.get("last_run_id") != run.run_id:
        blocked = BLOCKING_CHECK_MARKER in summary
        row = lifecycle.record_failure(month, error=summary, retryable=not blocked,
                                       run_id=run.run_id)
    attempt = int(row.get("retry_count") or 0) + 1
    send_alert(Alert(
        kind="run_failure",
        message=f"discogs monthly run failed for {month}: {summary}",
        month=month,
        asset=errors[0][0] if errors else None,
        run_id=run.run_id,
        attempt=attempt,
        extra={"failed_steps": [step for step, _ in errors]},
    ), context.log)


@dg.sensor(
    name=CHECK_FAILURE_SENSOR,
    minimum_interval_seconds=Settings.from_env().check_alert_tick_s,
    description="Alerts on every failed asset check evaluation (warnings included), since OSS "
    "Dagster has no built-in check alerts.",
)
def check_failure_alert(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    last_id = int(context.cursor) if context.cursor else 0
    check_keys = sorted(context.repository_def.asset_graph.asset_check_keys,
                        key=lambda k: k.to_user_string())
    newest = last_id
    sent = 0
    for key in check_keys:
        for record in failed_check_records(context.instance, key, HISTORY_PER_CHECK):
            if record.id <= last_id:
                continue
            newest = max(newest, record.id)
            evaluation = record.event.asset_check_evaluation if record.event else None
            severity = evaluation.severity.value if evaluation else "ERROR"
            meta = {k: str(getattr(v, "value", v)) for k, v in
                    (evaluation.metadata.items() if evaluation else [])}
            send_alert(Alert(
                kind="check_failure",
                level="error" if severity == "ERROR" else "warning",
                message=f"asset check {key.to_user_string()} failed for "
                f"{record.partition or 'no partition'} ({severity}): "
                f"{(evaluation.description if evaluation else None) or json.dumps(meta)}",
                month=record.partition,
                asset=key.asset_key.to_user_string(),
                run_id=record.run_id,
                extra={"check": key.name, "severity": severity, "metadata": meta},
            ), context.log)
            sent += 1
    reason = f"{sent} failed check evaluation(s) alerted" if sent else "no new failed checks"
    return dg.SensorResult(skip_reason=reason, cursor=str(newest))
