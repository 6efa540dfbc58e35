"""How every asset reports to the processing table and turns errors into Dagster outcomes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg

from discogs_assets.lib.errors import NonRetryableError, RetryableError
from discogs_assets.lib.warehouse import ProcessingStatus, ProcessingTable
from resources.gate import IngestionGateResource
from resources.warehouse import WarehouseResource


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
    not spin on it; anything else is recorded as retryable and re-raised.
    """
    try:
        gate.ensure_enabled()
    except NonRetryableError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    month = context.partition_key
    table = warehouse.processing()
    try:
        if status is not None:
            table.transition(month, status, run_id=context.run_id)
        yield table
    except NonRetryableError as exc:
        table.fail(month, error=f"{context.asset_key.to_user_string()}: {exc}", retryable=False,
                   run_id=context.run_id)
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    except RetryableError as exc:
        table.fail(month, error=f"{context.asset_key.to_user_string()}: {exc}", retryable=True,
                   run_id=context.run_id)
        raise
    except Exception as exc:
        table.fail(month, error=f"{context.asset_key.to_user_string()}: {exc!r}", retryable=True,
                   run_id=context.run_id)
        raise
