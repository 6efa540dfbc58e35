"""The Prometheus view of a :class:`Snapshot`: a custom collector that reads on every scrape.

Names follow Prometheus conventions: a value that is a state of a month (its record count, its
retries so far) is a gauge; ``_total`` only on the one true counter (retries started, summed
over every month, which only grows). Labels are bounded: ``month`` takes the exported window
(:data:`~discogs_assets.lib.monitoring.snapshot.DEFAULT_MONTHS` newest months), ``entity`` the
step owners, ``status``/``phase``/``stage``/``change`` fixed lists, ``reference`` the warehouse's
fixed reference columns, ``counter`` the identity-cache counter names; never a record id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from discogs_assets.lib.layout import month_of
from discogs_assets.lib.lifecycle import ProcessingStatus
from discogs_assets.lib.monitoring.snapshot import (
    DEFAULT_MONTHS,
    Snapshot,
    read_snapshot,
    reader_engine,
)
from discogs_assets.lib.orchestration.retry import (
    BackoffPolicy,
    FailedMonth,
    RetryAction,
    decide_retry,
)
from discogs_assets.lib.orchestration.summary import is_older

S = ProcessingStatus
CHANGE_KINDS = ("added", "changed", "removed", "revived", "unchanged")
PHASE_SECONDS = {"download": "download_seconds", "parse": "parse_seconds",
                 "load": "load_seconds"}


def _seconds(ts: datetime | None) -> float | None:
    return ts.timestamp() if ts is not None else None


def _numbers(value: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    """Numeric leaves of nested counters as dotted names (``{"lml": {"not_found": 2}}`` and
    ``{"lml.not_found": 2}`` both give ``lml.not_found``); flags and text are skipped."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _numbers(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield prefix, float(value)


def _gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _month_families(snap: Snapshot, policy: BackoffPolicy) -> Iterator[Metric]:
    in_window = [r for r in snap.months if r["month"] in snap.window]
    status = _gauge("discogs_month_status",
                    "1 for the month's current status, 0 for the others.", ["month", "status"])
    retries = _gauge("discogs_month_retry_count",
                     "Retries of the month started so far (the first run is not a retry).",
                     ["month"])
    exhausted = _gauge("discogs_month_retries_exhausted",
                       "1 when the month failed and the retry sensor gave up on it.", ["month"])
    gate = _gauge("discogs_month_gate_held",
                  "1 when the month was stopped by the ingestion gate (expected, not an error).",
                  ["month"])
    completed = _gauge("discogs_month_completed_timestamp_seconds",
                       "When the month was completed (Unix time); absent until it is.", ["month"])
    for row in in_window:
        month = row["month"]
        for s in S:
            status.add_metric([month, s.value], float(row["status"] is s))
        retries.add_metric([month], float(row["retry_count"]))
        gate.add_metric([month], float(bool(row.get("gate_disabled"))))
        exhausted.add_metric([month], float(_exhausted(row, snap.taken_at, policy)))
        if row["status"] is S.COMPLETED and row.get("completed_at") is not None:
            completed.add_metric([month], row["completed_at"].timestamp())
    yield from (status, retries, exhausted, gate, completed)


def _exhausted(row: Mapping[str, Any], now: datetime, policy: BackoffPolicy) -> bool:
    """The retry sensor's own rule (``decide_retry``), so both always agree."""
    if row["status"] is not S.FAILED:
        return False
    failed = FailedMonth(month=row["month"], retryable=bool(row.get("failure_retryable")),
                         retry_count=row["retry_count"],
                         failed_at=row.get("failed_at") or now,
                         last_error=row.get("last_error") or "",
                         gate_disabled=bool(row.get("gate_disabled")))
    return decide_retry(failed, now, busy=False, policy=policy).action is RetryAction.EXHAUSTED


def _entity_families(snap: Snapshot, parser_version: str) -> Iterator[Metric]:
    me = ["month", "entity"]
    records = _gauge("discogs_entity_records",
                     "Records of the month's entity: parsed, and loaded (applied) by its load.",
                     [*me, "stage"])
    changes = _gauge("discogs_entity_changes",
                     "Records the month's load added, changed, removed, revived or left "
                     "unchanged in the current state.", [*me, "change"])
    dangling = _gauge("discogs_entity_dangling_references",
                      "References to records missing from the warehouse after the month's load.",
                      [*me, "reference"])
    seconds = _gauge("discogs_phase_seconds",
                     "Seconds a phase of the month's entity took (checksum: resolving the dump).",
                     [*me, "phase"])
    bytes_ = _gauge("discogs_phase_bytes",
                    "Bytes a phase produced: download = the dump file, parse = the Parquet "
                    "output on disk.", [*me, "phase"])
    parser = InfoMetricFamily("discogs_parser_version",
                              "The parser version that parsed the month's entity.", labels=me)
    outdated = _gauge("discogs_entity_parser_outdated",
                      f"1 when the month's entity was parsed by a parser older than the "
                      f"deployed one ({parser_version}).", me)
    silent = _gauge("discogs_entity_silent_failure",
                    "1 when the month is completed with zero records in this entity.", me)
    stats = {r["month"]: r.get("stats") or {} for r in snap.months}
    for row in snap.entities:
        month, entity = row["month"], row["entity"]
        for phase, column in PHASE_SECONDS.items():
            if row.get(column) is not None:
                seconds.add_metric([month, entity, phase], float(row[column]))
        if entity == "checksum":
            continue
        for stage in ("parsed", "loaded"):
            if row.get(f"records_{stage}") is not None:
                records.add_metric([month, entity, stage], float(row[f"records_{stage}"]))
        for kind in CHANGE_KINDS:
            if row.get(kind) is not None:
                changes.add_metric([month, entity, kind], float(row[kind]))
        for reference, count in (row.get("dangling") or {}).items():
            dangling.add_metric([month, entity, reference], float(count))
        downloaded = (stats.get(month, {}).get(f"raw_{entity}") or {}).get("bytes")
        if downloaded is not None:
            bytes_.add_metric([month, entity, "download"], float(downloaded))
        if (month, entity) in snap.parsed_bytes:
            bytes_.add_metric([month, entity, "parse"], float(snap.parsed_bytes[(month, entity)]))
        version = row.get("parser_version")
        if version:
            parser.add_metric([month, entity], {"parser_version": str(version)})
            outdated.add_metric([month, entity], float(is_older(str(version), parser_version)))
        silent.add_metric([month, entity], float(row["silent_failure"]))
    yield from (records, changes, dangling, seconds, bytes_, parser, outdated, silent)


def _pipeline_families(snap: Snapshot, parser_version: str) -> Iterator[Metric]:
    months = _gauge("discogs_months", "Months by current status (every month, not only the "
                    "exported window).", ["status"])
    for s in S:
        months.add_metric([s.value], float(sum(r["status"] is s for r in snap.months)))
    yield months
    yield GaugeMetricFamily(
        "discogs_silent_failure_months",
        "Months completed with zero records in some entity (every month).",
        value=float(snap.silent_failure_months))
    stamps = [r["completed_at"] for r in snap.months
              if r["status"] is S.COMPLETED and r.get("completed_at") is not None]
    yield GaugeMetricFamily(
        "discogs_last_completed_month_timestamp_seconds",
        "When the most recently completed month was completed (Unix time; 0 = never).",
        value=max(stamps).timestamp() if stamps else 0.0)
    today = snap.taken_at.astimezone(UTC).date()
    current = month_of(today)
    row = next((r for r in snap.months if r["month"] == current), None)
    current_done = _gauge("discogs_current_month_completed",
                          "1 when the current (UTC) month's dump is completed.", ["month"])
    current_done.add_metric([current], float(row is not None and row["status"] is S.COMPLETED))
    yield current_done
    started = _gauge("discogs_current_month_start_timestamp_seconds",
                     "When the current (UTC) month began (Unix time).", ["month"])
    started.add_metric([current], datetime(today.year, today.month, 1, tzinfo=UTC).timestamp())
    yield started
    yield CounterMetricFamily(
        "discogs_month_retries", "Retries started, summed over every month.",
        value=float(sum(r["retry_count"] for r in snap.months)))
    deployed = InfoMetricFamily("discogs_parser_current",
                                "The parser version deployed with this exporter.")
    deployed.add_metric([], {"parser_version": parser_version})
    yield deployed
    caches = _gauge("discogs_identity_cache_last_run",
                    "Identity-cache counters of the newest month that warmed the caches.",
                    ["month", "counter"])
    last = next((r for r in reversed(snap.months) if (r.get("stats") or {}).get(
        "identity_caches")), None)
    if last is not None:
        # The local warm (local.*) and, when it ran, the LML refresh (lml.*) of that month.
        for key in ("identity_caches", "lml_cache_refresh"):
            for name, value in _numbers(last["stats"].get(key) or {}):
                caches.add_metric([last["month"], name], value)
    yield caches
    if snap.disk is not None:
        yield GaugeMetricFamily("discogs_data_dir_free_bytes",
                                "Free bytes on the data directory's filesystem.",
                                value=float(snap.disk.free_bytes))
        yield GaugeMetricFamily("discogs_data_dir_capacity_bytes",
                                "Size of the data directory's filesystem in bytes.",
                                value=float(snap.disk.total_bytes))


def families(snap: Snapshot, *, parser_version: str, policy: BackoffPolicy) -> list[Metric]:
    """Every metric family of one snapshot."""
    return [*_month_families(snap, policy), *_entity_families(snap, parser_version),
            *_pipeline_families(snap, parser_version)]


class PipelineCollector(Collector):
    """Reads the warehouse on each scrape (``engine_factory`` is called once, lazily, so a
    bad configuration surfaces as :class:`WarehouseUnreadable` at scrape time, never as a
    crash at start)."""

    def __init__(self, engine_factory: Callable[[], sa.Engine], data_dir: Path | None, *,
                 parser_version: str, policy: BackoffPolicy,
                 months: int = DEFAULT_MONTHS) -> None:
        self._engine_factory = engine_factory
        self._engine: sa.Engine | None = None
        self.data_dir = data_dir
        self.parser_version = parser_version
        self.policy = policy
        self.months = months

    def describe(self) -> list[Metric]:
        return []  # no warehouse read when the collector is registered

    def collect(self) -> list[Metric]:
        if self._engine is None:
            self._engine = self._engine_factory()
        snap = read_snapshot(self._engine, self.data_dir, months=self.months)
        return families(snap, parser_version=self.parser_version, policy=self.policy)


def pipeline_registry(url: str, data_dir: Path | None, *, parser_version: str,
                      policy: BackoffPolicy, months: int = DEFAULT_MONTHS) -> CollectorRegistry:
    """A registry holding only the pipeline's collector (no process or platform metrics of
    the exporter itself: they say nothing about the pipeline)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(lambda: reader_engine(url), data_dir,
                                        parser_version=parser_version, policy=policy,
                                        months=months))
    return registry
