"""Parsing: each raw dump file becomes its set of Parquet tables (one directory per entity).

Checks, evaluated by the parse step on what it wrote. Blocking (a bad month must not reach the
warehouse): ``non_empty`` (zero records is a failure, never a success), ``count_drift`` against
the previous month, ``schema_and_unique_keys`` (pandera). A warning: ``missing_key_fields``.
"""


from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg

from discogs_assets.defs.absent_kinds import absent_kind_result
from discogs_assets.defs.month_step import month_step
from discogs_assets.defs.partitions import (
    MONTHLY_BACKFILL,
    OWNERS,
    monthly_check,
    monthly_partitions,
)
from discogs_assets.defs.progress import ProgressLog
from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.layout import parsed_dir, previous_month, raw_dir
from discogs_assets.lib.lifecycle import MonthLifecycle, Stage
from discogs_assets.lib.manifest import MonthManifest
from discogs_assets.lib.parsing import PARSER_VERSION, ParseProgress, parse_dump, quality
from discogs_assets.lib.settings import Settings
from discogs_assets.lib.tables import ENTITIES, tables_for
from resources.gate import IngestionGateResource
from resources.settings import PipelineSettings
from resources.warehouse import WarehouseResource

PROGRESS_LOG_SECONDS = 30.0


class ParseConfig(dg.Config):
    engine: str = "fast"
    """``fast`` (xml2arrow) or ``reference`` (lxml)."""
    max_bad_records: int = 0
    """Broken records to skip (each logged) before the month fails; 0 = none."""


def _check_specs(entity: str) -> list[dg.AssetCheckSpec]:
    asset = f"parsed_{entity}"
    return [
        monthly_check("non_empty", asset, blocking=True,
                      description="At least one record: zero records is a failure."),
        monthly_check("count_drift", asset, blocking=True,
                      description="Record count within DISCOGS_MAX_COUNT_DRIFT (default 10 %) "
                      "of the previous month's."),
        monthly_check("schema_and_unique_keys", asset, blocking=True,
                      description="Every table meets its pandera schema; unique keys hold."),
        monthly_check("missing_key_fields", asset,
                      description=f"Share of records without {quality.KEY_FIELDS[entity]} below "
                      "DISCOGS_MAX_MISSING_KEY_SHARE (default 1 %); a warning."),
    ]


def _parsed_asset(entity: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"parsed_{entity}",
        deps=[f"raw_{entity}"],
        partitions_def=monthly_partitions,
        backfill_policy=MONTHLY_BACKFILL,
        group_name="parsing",
        kinds={"python", "parquet"},
        owners=OWNERS,
        description=f"The month's {entity} as Parquet tables "
        f"({', '.join(t.name for t in tables_for(entity))}) under parsed/YYYY-MM/{entity}/, "
        "replaced as a whole so the previous output survives a failed parse.",
        check_specs=_check_specs(entity),
    )
    def parsed_entity(
        context: dg.AssetExecutionContext,
        config: ParseConfig,
        settings: PipelineSettings,
        gate: IngestionGateResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        month = context.partition_key
        with month_step(context, gate, warehouse, owner=entity, stage=Stage.PARSE,
                        parser_version=PARSER_VERSION) as step:
            absent = absent_kind_result(context, step, settings.data_path, entity,
                                        f"parsed_{entity}")
            if absent is not None:
                return absent
            manifest = MonthManifest.read(raw_dir(settings.data_path, month))
            listed = manifest.data_file(entity) if manifest else None
            if listed is None:
                raise NonRetryableError(f"no downloaded {entity} file for {month}: "
                                        f"materialize raw_{entity} first")
            result = parse_dump(
                raw_dir(settings.data_path, month) / listed.name,
                parsed_dir(settings.data_path, month, entity),
                entity=entity,
                workers=settings.parse_workers,
                engine=config.engine,
                max_bad_records=config.max_bad_records,
                progress=_parse_progress(context, listed.name),
            )
            for bad in result.bad_records:
                context.log.warning(f"skipped broken record: {bad}")
            step.finish(
                parser_version=result.parser_version,
                records=result.records,
                stats_patch={f"parsed_{entity}": {"records": result.records,
                                                  "seconds": round(result.seconds, 3),
                                                  "bad_records": len(result.bad_records)}},
            )
        # Judged after the stage finished, as the output stands (a failed blocking check
        # fails this step; the run-failure sensor records it as not retryable).
        checks = list(parsed_results(entity, month, settings.data_path, step.lifecycle))
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.records,
                "row_counts": dg.MetadataValue.json(result.row_counts),
                "parser_version": result.parser_version,
                "engine": result.engine,
                "workers": result.workers,
                "bytes_xml": result.bytes_xml,
                "bytes_input": result.bytes_input,
                "duration_s": round(result.seconds, 3),
                "mb_per_s": round(result.mb_per_s, 2),
                "records_per_s": round(result.records_per_s, 1),
                "bad_records_skipped": len(result.bad_records),
                "control_chars_replaced": result.control_chars_replaced,
                "dump_date": manifest.dump_date,
            },
            check_results=checks,
        )

    return parsed_entity


def parsed_results(entity: str, month: str, data_path: Path,
                   lifecycle: MonthLifecycle) -> Iterator[dg.AssetCheckResult]:
    """The four checks of one entity's parsed month, as written on disk, in spec order."""
    directory = parsed_dir(data_path, month, entity)
    limits = Settings.from_env()
    count = quality.root_row_count(directory, entity) or 0
    yield dg.AssetCheckResult(check_name="non_empty", passed=count > 0,
                              metadata={"records": count},
                              description=None if count else f"{entity} for {month}: "
                              f"0 records in {directory}")
    previous = _previous_count(data_path, lifecycle, month, entity)
    drift = quality.count_drift(count, previous, max_fraction=limits.max_count_drift)
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
    limit = limits.max_missing_key_share
    yield dg.AssetCheckResult(
        check_name="missing_key_fields", passed=share <= limit,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"missing": missing, "records": total, "share": round(share, 6),
                  "threshold": limit},
        description=f"{missing} of {total} {entity} have no {quality.KEY_FIELDS[entity]}")


def _previous_count(data_path: Path, lifecycle: MonthLifecycle, month: str,
                    entity: str) -> int | None:
    """The previous month's record count: its parsed output, else what its parse recorded."""
    prev = previous_month(month)
    on_disk = quality.root_row_count(parsed_dir(data_path, prev, entity), entity)
    if on_disk is not None:
        return on_disk
    row = lifecycle.get(prev) or {}
    recorded = (row.get("stats") or {}).get(f"parsed_{entity}", {}).get("records")
    return int(recorded) if recorded is not None else None


def _parse_progress(
    context: dg.AssetExecutionContext, name: str
) -> Callable[[ParseProgress], None]:
    log = ProgressLog(context, PROGRESS_LOG_SECONDS)

    def report(progress: ParseProgress) -> None:
        rate = progress.bytes_xml / 1e6 / progress.seconds if progress.seconds else 0.0
        log.info(f"parse file={name} records={progress.records} "
                 f"mb_xml={progress.bytes_xml / 1e6:.0f} mb_per_s={rate:.1f}")

    return report


parsed_assets = [_parsed_asset(entity) for entity in ENTITIES]
