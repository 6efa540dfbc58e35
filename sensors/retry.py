"""Re-request failed months after an exponential backoff; stop and alert when attempts run out.

The processing table is the source of truth: ``failure_retryable`` (set by the failing step),
``retry_count`` (incremented when a retry starts), ``failed_at``, ``gate_disabled`` and a wait
the dump host asked for (a Retry-After: the month's ``next_retry_at`` when its step met it, and
the host-wide wait every process honours). Non-retryable failures (no dump, a shrink-guard
refusal, a failed blocking check) are never retried; months held by the gate are re-requested
once it is on again.
"""

import json
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from discogs_assets.lib.gate import GATED_MESSAGE
from discogs_assets.lib.job_names import MONTHLY_JOB_NAME
from discogs_assets.lib.orchestration.alerts import Alert
from discogs_assets.lib.orchestration.retry import (
    BackoffPolicy,
    FailedMonth,
    RetryAction,
    decide_retry,
    retry_run_key,
)
from discogs_assets.lib.settings import Settings
from resources.alerts import send_alert
from resources.dump_source import DumpSourceResource
from resources.gate import IngestionGateResource
from resources.warehouse import WarehouseResource
from sensors.runs import active_months

SENSOR_NAME = "discogs_retry_failed_months"


def failed_month(row: dict[str, Any], host_wait: datetime | None = None) -> FailedMonth:
    """A processing-table row as the retry rules see it; ``host_wait``: the dump host's
    Retry-After still in force, if any."""
    waits = [w for w in (row.get("next_retry_at") if row.get("failure_retryable") else None,
                         host_wait) if w is not None]
    return FailedMonth(
        month=row["month"],
        retryable=bool(row.get("failure_retryable")),
        retry_count=int(row.get("retry_count") or 0),
        failed_at=(row.get("failed_at") or row["updated_at"]).astimezone(UTC),
        last_error=row.get("last_error") or "",
        last_run_id=row.get("last_run_id"),
        gate_disabled=bool(row.get("gate_disabled")),
        not_before=max(waits) if waits else None,
    )


@dg.sensor(
    name=SENSOR_NAME,
    job_name=MONTHLY_JOB_NAME,
    minimum_interval_seconds=Settings.from_env().retry_tick_s,
    description="Re-requests failed months after 5 min, 25 min, 2 h, 6 h (at most 5 attempts) "
    "or after the dump host's Retry-After, whichever is later; never while a run for the month "
    "is active; alerts when attempts are exhausted.",
)
def retry_sensor(
    context: dg.SensorEvaluationContext,
    gate: IngestionGateResource,
    warehouse: WarehouseResource,
    dump_source: DumpSourceResource,
) -> dg.SensorResult:
    alerted: list[str] = json.loads(context.cursor) if context.cursor else []
    enabled, source = gate.state()
    if not enabled:
        return dg.SensorResult(skip_reason=f"{GATED_MESSAGE} (decided by {source})",
                               cursor=json.dumps(alerted))
    settings = Settings.from_env()
    policy = BackoffPolicy(delays_s=settings.retry_delays_s,
                           max_attempts=settings.retry_max_attempts)
    lifecycle = warehouse.processing()
    now = datetime.now(UTC)
    host_wait = lifecycle.host_backoff_until(dump_source.host(), now)
    busy = active_months(context.instance)
    requests: list[dg.RunRequest] = []
    notes: list[str] = []
    for row in lifecycle.all():
        if str(row["status"]) != "failed" and not row.get("gate_disabled"):
            continue
        failed = failed_month(row, host_wait[0] if host_wait else None)
        decision = decide_retry(failed, now, busy=failed.month in busy, policy=policy)
        notes.append(decision.reason)
        if decision.action is RetryAction.WAIT and row.get("next_retry_at") != decision.due_at:
            lifecycle.schedule_retry(failed.month, decision.due_at)  # visible to admins
        elif decision.action is RetryAction.EXHAUSTED:
            key = retry_run_key(failed)
            if key not in alerted:
                send_alert(Alert(kind="retries_exhausted", message=decision.reason,
                                 month=failed.month, run_id=failed.last_run_id,
                                 attempt=failed.attempts), context.log)
                alerted.append(key)
        elif decision.requests_run:
            if failed.gate_disabled:
                lifecycle.release_gate_hold(
                    failed.month, note=f"re-requested at {now.isoformat()}: gate on again")
            requests.append(dg.RunRequest(
                run_key=retry_run_key(failed),
                partition_key=failed.month,
                tags={"discogs/trigger": "retry", "discogs/attempt": str(failed.attempts + 1)},
            ))
    cursor = json.dumps(alerted[-200:])
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    return dg.SensorResult(skip_reason="; ".join(notes) or "no failed months", cursor=cursor)
