"""Asset checks: raw files, parsed tables, the warehouse, and the latest month's freshness.

Blocking (a bad month must not reach the warehouse): sha256 of raw files, non-empty parsed
output (zero records is a failure, never a success), count drift against the previous month,
pandera schema and unique keys. Warnings: records missing key fields, dangling references,
health views disagreeing with the processing table, freshness.
"""

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from discogs_assets.defs.partitions import monthly_partitions
from discogs_assets.lib.acquisition import sha256_file
from discogs_assets.lib.layout import parsed_dir, previous_month, raw_dir
from discogs_assets.lib.lifecycle import MonthLifecycle
from discogs_assets.lib.manifest import MonthManifest
from discogs_assets.lib.orchestration import quality
from discogs_assets.lib.orchestration.freshness import FreshnessResult, evaluate_freshness
from discogs_assets.lib.settings import Settings
from discogs_assets.lib.tables import ENTITIES
from resources.settings import PipelineSettings
from resources.warehouse import WarehouseResource

# Per-month check results need partitioned check specs, a preview feature in Dagster 1.13 that
# works as documented; its warning on every load would drown the run logs.
warnings.filterwarnings(
    "ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*"
)

FRESHNESS_CHECK = "latest_month_fresh"
FRESHNESS_ASSET = "discogs_checksum"
WARN = dg.AssetCheckSeverity.WARN


def raw_sha256_result(entity: str, month: str, data_path: Path) -> dg.AssetCheckResult:
    """Hash the month's raw file on disk and compare with its CHECKSUM line."""
    month_dir = raw_dir(data_path, month)
    manifest = MonthManifest.read(month_dir)
    listed = manifest.data_file(entity) if manifest else None
    if manifest is None or listed is None:
        return dg.AssetCheckResult(passed=False, description=f"no {entity} file resolved for "
                                   f"{month} ({month_dir / 'dump.json'})")
    path = month_dir / listed.name
    if not path.exists():
        return dg.AssetCheckResult(passed=False, description=f"{path} is not on disk")
    actual = sha256_file(path)
    expected = manifest.sha256.get(listed.name)
    if expected is None:
        return dg.AssetCheckResult(
            passed=False, severity=WARN, metadata={"sha256": actual},
            description=f"{path.name} was accepted without a CHECKSUM: size only")
    return dg.AssetCheckResult(
        passed=actual == expected,
        metadata={"file": path.name, "sha256": actual, "expected": expected},
        description=None if actual == expected else
        f"{path.name}: sha256 {actual} but the CHECKSUM lists {expected}",
    )


def _raw_sha256_check(entity: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=f"raw_{entity}",
        name="sha256_verified",
        blocking=True,
        partitions_def=monthly_partitions,
        description="The file on disk hashes to the sha256 its CHECKSUM lists (a dump accepted "
        "without a CHECKSUM is a warning: verified by size only).",
    )
    def check(context: dg.AssetCheckExecutionContext,
              settings: PipelineSettings) -> dg.AssetCheckResult:
        return raw_sha256_result(entity, context.partition_key, settings.data_path)

    return check


def parsed_results(entity: str, month: str, data_path: Path,
                   processing: MonthLifecycle) -> Iterator[dg.AssetCheckResult]:
    """The four parsed-table checks of one entity and month, in spec order."""
    directory = parsed_dir(data_path, month, entity)
    count = quality.root_row_count(directory, entity) or 0
    yield dg.AssetCheckResult(check_name="non_empty", passed=count > 0,
                              metadata={"records": count},
                              description=None if count else f"{entity} for {month}: "
                              f"0 records in {directory}")
    previous = _previous_count(data_path, processing, month, entity)
    drift = quality.count_drift(count, previous, max_fraction=Settings.from_env().max_count_drift)
    yield dg.AssetCheckResult(
        check_name="count_drift", passed=drift.passed, description=drift.reason,
        metadata={"records": count, "previous_records": previous or 0,
                  "drift": round(drift.drift, 4) if drift.drift is not None else 0.0})
    problems = quality.schema_problems(directory, entity) if count else {}
    yield dg.AssetCheckResult(
        check_name="schema_and_unique_keys", passed=not problems,
        metadata={"problems": dg.MetadataValue.json(problems)},
        description="; ".join(f"{t}: {p}" for t, p in problems.items())[:2000] or None)
    missing, total = quality.missing_key_count(directory, entity) if count else (0, 0)
    share = quality.missing_share(missing, total)
    limit = Settings.from_env().max_missing_key_share
    yield dg.AssetCheckResult(
        check_name="missing_key_fields", passed=share <= limit, severity=WARN,
        metadata={"missing": missing, "records": total, "share": round(share, 6),
                  "threshold": limit},
        description=f"{missing} of {total} {entity} have no {quality.KEY_FIELDS[entity]}")


def _parsed_checks(entity: str) -> dg.AssetChecksDefinition:
    asset = f"parsed_{entity}"
    specs = [
        dg.AssetCheckSpec("non_empty", asset=asset, blocking=True,
                          partitions_def=monthly_partitions,
                          description="At least one record: zero records is a failure."),
        dg.AssetCheckSpec("count_drift", asset=asset, blocking=True,
                          partitions_def=monthly_partitions,
                          description="Record count within DISCOGS_MAX_COUNT_DRIFT (default "
                          "10 %) of the previous month's."),
        dg.AssetCheckSpec("schema_and_unique_keys", asset=asset, blocking=True,
                          partitions_def=monthly_partitions,
                          description="Every table meets its pandera schema; unique keys hold."),
        dg.AssetCheckSpec("missing_key_fields", asset=asset, partitions_def=monthly_partitions,
                          description="Share of records without "
                          f"{quality.KEY_FIELDS[entity]} below DISCOGS_MAX_MISSING_KEY_SHARE "
                          "(default 1 %); a warning."),
    ]

    @dg.multi_asset_check(specs=specs, name=f"parsed_{entity}_checks")
    def checks(context: dg.AssetCheckExecutionContext, settings: PipelineSettings,
               warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
        yield from parsed_results(entity, context.partition_key, settings.data_path,
                                  warehouse.processing())

    return checks


def _previous_count(data_path: Path, processing: MonthLifecycle, month: str,
                    entity: str) -> int | None:
    """The previous month's record count: its parsed output, else what its parse recorded."""
    prev = previous_month(month)
    on_disk = quality.root_row_count(parsed_dir(data_path, prev, entity), entity)
    if on_disk is not None:
        return on_disk
    row = processing.get(prev) or {}
    recorded = (row.get("stats") or {}).get(f"parsed_{entity}", {}).get("records")
    return int(recorded) if recorded is not None else None


def _referential_check(entity: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=f"warehouse_{entity}",
        name="referential_integrity",
        partitions_def=monthly_partitions,
        description="Counts references to ids missing from the warehouse (kept as data; a "
        "warning).",
    )
    def check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        counts = quality.dangling_counts(warehouse.engine(), entity)
        dangling = sum(counts.values())
        return dg.AssetCheckResult(
            passed=dangling == 0, severity=WARN,
            metadata={"dangling": dangling, "by_column": dg.MetadataValue.json(counts)},
            description=f"{dangling} dangling reference(s)" if dangling else None)

    return check


@dg.asset_check(
    asset="warehouse_releases",
    name="health_views_agree",
    partitions_def=monthly_partitions,
    description="v_month_health, v_failed_months and v_pending_months agree with "
    "discogs_data_processing.",
)
def health_views_agree(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    problems = quality.health_view_mismatches(warehouse.engine())
    return dg.AssetCheckResult(passed=not problems, severity=WARN,
                               description="; ".join(problems) or None,
                               metadata={"mismatches": len(problems)})


def freshness_result(table: MonthLifecycle, now: datetime, max_days: float) -> FreshnessResult:
    """Judge the newest month whose CHECKSUM the new-dump sensor has seen."""
    seen = [(row["month"], row) for row in table.all()
            if (row.get("stats") or {}).get("checksum_seen")]
    if not seen:
        return evaluate_freshness(None, None, None, now, max_days=max_days)
    month, row = max(seen, key=lambda item: item[0])
    info = row["stats"]["checksum_seen"]
    appeared = datetime.fromisoformat(info.get("listed_at") or info["seen_at"])
    completed = row.get("completed_at") if str(row["status"]) == "completed" else None
    return evaluate_freshness(month, appeared, completed, now, max_days=max_days)


def freshness_evaluation(result: FreshnessResult, max_days: float) -> dg.AssetCheckEvaluation:
    """The same verdict as a check evaluation a sensor can report between runs."""
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(FRESHNESS_ASSET), check_name=FRESHNESS_CHECK,
        passed=result.passed, severity=WARN, description=result.reason,
        metadata={"month": result.month or "", "max_days": max_days},
    )


@dg.asset_check(
    asset=FRESHNESS_ASSET,
    name=FRESHNESS_CHECK,
    description="The latest published month is completed within DISCOGS_FRESHNESS_DAYS "
    "(default 3) of its CHECKSUM appearing; also evaluated daily by the ops summary sensor.",
)
def latest_month_fresh(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    max_days = Settings.from_env().freshness_days
    result = freshness_result(warehouse.processing(), datetime.now(UTC), max_days)
    return dg.AssetCheckResult(passed=result.passed, severity=WARN, description=result.reason,
                               metadata={"month": result.month or "", "max_days": max_days})


raw_checks = [_raw_sha256_check(entity) for entity in ENTITIES]
parsed_checks = [_parsed_checks(entity) for entity in ENTITIES]
warehouse_checks = [_referential_check(entity) for entity in ENTITIES]
