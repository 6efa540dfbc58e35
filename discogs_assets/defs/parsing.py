"""Parsing: each raw dump file becomes its set of Parquet tables (one directory per entity)."""


import time
from collections.abc import Callable

import dagster as dg

from discogs_assets.defs.month_step import month_step
from discogs_assets.defs.partitions import MONTHLY_BACKFILL, OWNERS, monthly_partitions
from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.layout import parsed_dir, raw_dir
from discogs_assets.lib.lifecycle import Stage
from discogs_assets.lib.manifest import MonthManifest
from discogs_assets.lib.parsing import ParseProgress, parse_dump
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
    )
    def parsed_entity(
        context: dg.AssetExecutionContext,
        config: ParseConfig,
        settings: PipelineSettings,
        gate: IngestionGateResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        month = context.partition_key
        with month_step(context, gate, warehouse, owner=entity, stage=Stage.PARSE) as step:
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
                progress=_progress_logger(context, listed.name),
            )
            for bad in result.bad_records:
                context.log.warning(f"skipped broken record: {bad}")
            step.finish(
                parser_version=result.parser_version,
                stats_patch={f"parsed_{entity}": {"records": result.records,
                                                  "seconds": round(result.seconds, 3),
                                                  "bad_records": len(result.bad_records)}},
            )
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
            }
        )

    return parsed_entity


def _progress_logger(
    context: dg.AssetExecutionContext, name: str
) -> Callable[[ParseProgress], None]:
    last = [time.monotonic()]

    def report(progress: ParseProgress) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_LOG_SECONDS:
            return
        last[0] = now
        rate = progress.bytes_xml / 1e6 / progress.seconds if progress.seconds else 0.0
        context.log.info(f"parse file={name} records={progress.records} "
                         f"mb_xml={progress.bytes_xml / 1e6:.0f} mb_per_s={rate:.1f}")

    return report


parsed_assets = [_parsed_asset(entity) for entity in ENTITIES]
