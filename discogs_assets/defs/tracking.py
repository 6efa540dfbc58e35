"""How every asset reports to the processing table and turns errors into Dagster outcomes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg

from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.warehouse import ProcessingStatus, ProcessingTable
from resources.gate import IngestionGateResource
from resources.warehouse import WarehouseResource

S = ProcessingStatus
# Steps of one month run in parallel (four downloads, four parses): a step never moves the
# month back from a later in-flight phase that a sibling step has already reached.
_IN_FLIGHT_RANK = {S.DOWNLOADING: 1, S.READY_FOR_PROCESSING: 2, S.PROCESSING: 3}


def advance(table: ProcessingTable, month: str, target: ProcessingStatus, run_id: str) -> None:
    """Move ``month`` to ``target`` unless a sibling step already took it further."""
    row = table.get(month)
    current = S(row["status"]) if row else S.NOT_STARTED
    if _IN_FLIGHT_RANK.get(current, 0) > _IN_FLIGHT_RANK.get(target, 0) > 0:
        return
    table.transition(month, target, run_id=run_id)


def _step_will_be_retried(context: dg.AssetExecutionContext) -> bool:
    policy = context.op_def.retry_policy
    return policy is not None and context.retry_number < policy.max_retries


@contextlib.contextmanager
def month_step(
    context: dg.AssetExecutionContext,
    gate: IngestionGateResource,
    warehouse: WarehouseResource,
    status: ProcessingStatus | None,
) -> Iterator[ProcessingTable]:
    """Check the gate, move the month to ``status`` and record any failure.

    The gate is checked first, so a gated run leaves the processing table untouched. A
    non-retryable error becomes ``Failure(allow_retries=False)`` so the step's RetryPolicy does
    not spin on it. Any other error is re-raised; the month is marked failed (retryable) only
    when the step's own RetryPolicy has no attempt left, so short in-step retries do not use up
    the retry sensor's budget.
    """
    try:
        gate.ensure_enabled()
    except NonRetryableError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    month = context.partition_key
    run_id = context.run.run_id
    table = warehouse.processing()
    step = context.asset_key.to_user_string()
    try:
        if status is not None:
            advance(table, month, status, run_id)
        yield table
    except NonRetryableError as exc:
        table.fail(month, error=f"{step}: {exc}", retryable=False, run_id=run_id)
        raise dg.Failure(description=f"{step} ({month}): {exc}", allow_retries=False) from exc
    except Exception as exc:
        if _step_will_be_retried(context):
            context.log.warning(f"step={step} month={month} attempt={context.retry_number + 1} "
                                f"failed, the step will be retried: {exc!r}")
        else:
            table.fail(month, error=f"{step}: {exc!r}", retryable=True, run_id=run_id)
        raise
