"""How every monthly asset reports to the month lifecycle and turns errors into Dagster outcomes.

One context manager around each step's work: it checks the gate, migrates the warehouse schema
(explicitly, once per process), marks the step's stage as started, and on an error records the
failure the way the retry machinery needs it. The lifecycle module decides what that does to
the month's status; this wrapper only says what happened.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from discogs_assets.lib.errors import NonRetryableError, RetryableError
from discogs_assets.lib.gate import IngestionGated
from discogs_assets.lib.lifecycle import MonthLifecycle, ProcessingStatus, Stage
from discogs_assets.lib.monitoring.sentry import capture_step_exception
from resources.gate import IngestionGateResource
from resources.warehouse import WarehouseResource

S = ProcessingStatus
_IN_FLIGHT = (S.DOWNLOADING, S.READY_FOR_PROCESSING, S.PROCESSING)


@dataclass(frozen=True)
class MonthStep:
    """The running step's handle on its month: finish the stage, or record other facts."""

    lifecycle: MonthLifecycle
    month: str
    run_id: str
    owner: str | None
    stage: Stage | None

    def finish(self, *, stats_patch: Mapping[str, Any] | None = None,
               parser_version: str | None = None, records: int | None = None,
               note: str | None = None) -> None:
        """The stage succeeded (call it last, after every write the step makes); ``records``
        and ``note`` as :meth:`MonthLifecycle.finish_stage` takes them."""
        assert self.owner is not None and self.stage is not None, "a step without a stage"
        self.lifecycle.finish_stage(self.month, self.owner, self.stage, run_id=self.run_id,
                                    stats_patch=stats_patch, parser_version=parser_version,
                                    records=records, note=note)


class _HostAskedToWait(dg.Failure):
    """The dump host's Retry-After ended the step; the month waits for the retry sensor."""


def _step_will_be_retried(context: dg.AssetExecutionContext) -> bool:
    policy = context.op_def.retry_policy
    return policy is not None and context.retry_number < policy.max_retries


def _hold_for_gate(warehouse: WarehouseResource, month: str, note: str, run_id: str) -> None:
    """A month in flight whose next step meets the closed gate is marked "gate disabled" (the
    retry sensor requests it again once the gate is on). A month never started stays
    untouched: a gated run writes nothing, not even the warehouse file or schema."""
    engine = warehouse.existing_engine()
    if engine is None:
        return
    lifecycle = MonthLifecycle(engine)
    row = lifecycle.get(month)
    if row is not None and row["status"] in _IN_FLIGHT:
        lifecycle.mark_gate_disabled(month, note=f"gate disabled: {note}", run_id=run_id)


@contextlib.contextmanager
def month_step(
    context: dg.AssetExecutionContext,
    gate: IngestionGateResource,
    warehouse: WarehouseResource,
    *,
    owner: str | None,
    stage: Stage | None,
    dump_host: str | None = None,
    parser_version: str | None = None,
) -> Iterator[MonthStep]:
    """Run one step of ``context.partition_key``'s month.

    ``owner``/``stage``: whose stage this step runs (the checksum step or an entity), None for
    a step without a phase (the identity caches). ``dump_host``: the step talks to the dump
    host, so a wait the host asked for is honoured before it starts and recorded when met.
    ``parser_version``: the parser a parse step runs (recorded as it starts).

    Errors: a non-retryable one fails the month for good (``Failure(allow_retries=False)``, so
    the step's RetryPolicy does not spin on it). A Retry-After from the host is never retried
    inside the run: the month fails retryable with ``next_retry_at`` set to when the host allows
    the next request, and that wait is recorded for every process (schedule, sensors). Any other
    error is re-raised; the month is marked failed (retryable) only when the step's own
    RetryPolicy has no attempt left, so short in-step retries do not use up the retry sensor's
    budget.
    """
    month = context.partition_key
    run_id = context.run.run_id
    try:
        gate.ensure_enabled()
    except IngestionGated as exc:
        _hold_for_gate(warehouse, month, str(exc), run_id)
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    lifecycle = MonthLifecycle(warehouse.migrate())
    step = context.asset_key.to_user_string()
    try:
        try:
            if dump_host is not None:
                _honour_host_backoff(lifecycle, dump_host)
            if owner is not None and stage is not None:
                lifecycle.start_stage(month, owner, stage, run_id=run_id,
                                      parser_version=parser_version)
            yield MonthStep(lifecycle, month, run_id, owner, stage)
        except NonRetryableError as exc:
            lifecycle.record_failure(month, error=f"{step}: {exc}", retryable=False, run_id=run_id)
            raise dg.Failure(description=f"{step} ({month}): {exc}", allow_retries=False) from exc
        except RetryableError as exc:
            if exc.retry_after is None:
                _record_retryable(context, lifecycle, step, exc)
                raise
            now = datetime.now(UTC)
            not_before = now + timedelta(seconds=exc.retry_after)
            if dump_host is not None:
                lifecycle.record_host_backoff(dump_host, not_before, f"{step} ({month}): {exc}")
            lifecycle.record_failure(month, error=f"{step}: {exc}", retryable=True, run_id=run_id,
                                     next_retry_at=not_before)
            context.log.warning(f"step={step} month={month} the dump host asked to wait "
                                f"{exc.retry_after:.0f} s; next attempt not before "
                                f"{not_before.isoformat()} (retry sensor)")
            raise _HostAskedToWait(description=f"{step} ({month}): {exc}; not retried before "
                                   f"{not_before.isoformat()}", allow_retries=False) from exc
        except Exception as exc:
            _record_retryable(context, lifecycle, step, exc)
            raise
    except _HostAskedToWait:
        raise  # expected: logged, recorded and retried by the sensor, not a bug for Sentry
    except Exception as exc:
        # Every other failed step reaches Sentry (when SENTRY_DSN is set) with its traceback.
        original = exc.__cause__ if isinstance(exc, dg.Failure) and exc.__cause__ else exc
        capture_step_exception(original, month=month, asset=step, run_id=run_id,
                               attempt=context.retry_number + 1)
        raise


def _honour_host_backoff(lifecycle: MonthLifecycle, host: str) -> None:
    now = datetime.now(UTC)
    wait = lifecycle.host_backoff_until(host, now)
    if wait is not None:
        until, reason = wait
        raise RetryableError(f"the dump host asked us to wait until {until.isoformat()} "
                             f"({reason}); no request made",
                             retry_after=(until - now).total_seconds())


def _record_retryable(context: dg.AssetExecutionContext, lifecycle: MonthLifecycle, step: str,
                      exc: BaseException) -> None:
    month = context.partition_key
    if _step_will_be_retried(context):
        context.log.warning(f"step={step} month={month} attempt={context.retry_number + 1} "
                            f"failed, the step will be retried: {exc!r}")
    else:
        lifecycle.record_failure(month, error=f"{step}: {exc!r}", retryable=True,
                                 run_id=context.run.run_id)
