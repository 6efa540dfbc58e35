"""Acquisition: resolve the month's dump, fetch its CHECKSUM, download and verify each file.

Checks: ``raw_<entity>:sha256_verified`` (blocking; from the hash the download computed, or
recorded for the unchanged file) and ``discogs_checksum:latest_month_fresh`` (a warning, not
partitioned: it judges the newest published month; the daily summary sensor evaluates it too).
"""

from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from discogs_assets.defs.absent_kinds import absent_kind_result
from discogs_assets.defs.month_step import month_step
from discogs_assets.defs.partitions import (
    MONTHLY_BACKFILL,
    OWNERS,
    monthly_check,
    monthly_partitions,
)
from discogs_assets.defs.progress import ProgressLog
from discogs_assets.executors import IO_STEP_TAGS
from discogs_assets.lib.acquisition import DownloadResult
from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.layout import raw_dir
from discogs_assets.lib.lifecycle import CHECKSUM_STEP, Stage
from discogs_assets.lib.manifest import MonthManifest, resolve_month
from discogs_assets.lib.orchestration import freshness
from discogs_assets.lib.settings import Settings
from discogs_assets.lib.tables import ENTITIES
from resources.dump_source import DumpSourceResource
from resources.gate import IngestionGateResource
from resources.settings import PipelineSettings
from resources.warehouse import WarehouseResource

DOWNLOAD_POOL = "discogs_downloads"
PROGRESS_LOG_SECONDS = 15.0
SHA256_CHECK = "sha256_verified"

# Short waits only: long ones (a 429 with an hour's Retry-After) fail the run for the retry sensor.
DOWNLOAD_RETRY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


class ChecksumConfig(dg.Config):
    refresh_listing: bool = False
    """Ask the source again even when this month's CHECKSUM is already on disk."""
    accept_unverified: bool = False
    """Accept files of a dump that never got a CHECKSUM, verified by listed size only (this run
    only)."""
    dump_dates: dict[str, str] = Field(default_factory=dict)
    """Per kind, the dump (YYYYMMDD) of the month to take it from instead of the latest complete
    one, e.g. {"releases": "20130101"}; asks the source again unless already resolved so."""


@dg.asset(
    partitions_def=monthly_partitions,
    backfill_policy=MONTHLY_BACKFILL,
    group_name="acquisition",
    kinds={"python", "file"},
    owners=OWNERS,
    retry_policy=DOWNLOAD_RETRY,
    op_tags=IO_STEP_TAGS,
    description="The month's CHECKSUM file (the 'dump complete' marker) and the dump it names: "
    "dump date, file names, listed sizes and expected SHA-256s (raw/YYYY-MM/dump.json).",
)
def discogs_checksum(
    context: dg.AssetExecutionContext,
    config: ChecksumConfig,
    settings: PipelineSettings,
    dump_source: DumpSourceResource,
    gate: IngestionGateResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    month = context.partition_key
    with month_step(context, gate, warehouse, owner=CHECKSUM_STEP, stage=Stage.DOWNLOAD,
                    dump_host=dump_source.host()) as step:
        month_dir = raw_dir(settings.data_path, month)
        manifest = None if config.refresh_listing else MonthManifest.read(month_dir)
        if manifest is not None and not manifest.agrees_with(config.dump_dates):
            manifest = None
        requests = 0
        if manifest is None:
            with dump_source.get_source(log=context.log) as source:
                manifest = resolve_month(source, month, accept_unverified=config.accept_unverified,
                                         dump_dates=config.dump_dates)
                requests = source.requests
            manifest.write(month_dir)
        else:
            context.log.info(f"month={month} dump={manifest.dump_date} already resolved on disk; "
                             "no request made (refresh_listing=true asks again)")
        step.lifecycle.record_dump(
            month,
            run_id=context.run.run_id,
            dump_date=manifest.dump_date,
            checksum_sha256=manifest.checksum_sha256,
            checksums=manifest.sha256,
            unverified=not manifest.verified,
        )
        checksum = manifest.dump.checksum_file
        step.lifecycle.record_checksum_seen(
            month, sha256=manifest.checksum_sha256,
            listed_at=checksum.last_modified if checksum else None, seen_at=datetime.now(UTC))
        step.finish()
    files = manifest.provenance()
    context.log.info(f"month={month} dump={manifest.dump_date} files: "
                     f"{manifest.dump.describe()} requests={requests}")
    return dg.MaterializeResult(
        metadata={
            "dump_date": manifest.dump_date,
            "checksum_sha256": manifest.checksum_sha256 or "(none: accepted unverified)",
            "verified": manifest.verified,
            "files": dg.MetadataValue.json(files),
            "missing_kinds": ", ".join(manifest.dump.missing_kinds) or "none",
            "requests": requests,
        },
    )


@dg.asset_check(
    asset=freshness.CHECK_ASSET,
    name=freshness.CHECK_NAME,
    description="The latest published month is completed within DISCOGS_FRESHNESS_DAYS "
    "(default 3) of its CHECKSUM appearing; also evaluated daily by the ops summary sensor.",
)
def latest_month_fresh(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    max_days = Settings.from_env().freshness_days
    result = freshness.latest_month_freshness(warehouse.processing().all(), datetime.now(UTC),
                                              max_days)
    return dg.AssetCheckResult(passed=result.passed, severity=dg.AssetCheckSeverity.WARN,
                               description=result.reason,
                               metadata={"month": result.month or "", "max_days": max_days})


def _raw_asset(entity: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"raw_{entity}",
        deps=[discogs_checksum],
        partitions_def=monthly_partitions,
        backfill_policy=MONTHLY_BACKFILL,
        group_name="acquisition",
        kinds={"python", "file"},
        owners=OWNERS,
        pool=DOWNLOAD_POOL,
        retry_policy=DOWNLOAD_RETRY,
        op_tags=IO_STEP_TAGS,
        description=f"The month's {entity} dump (.xml.gz) on local disk, SHA-256 verified against "
        "the CHECKSUM; resumable, skipped when already present and verified.",
        check_specs=[monthly_check(
            SHA256_CHECK, f"raw_{entity}", blocking=True,
            description="The file on disk hashes to the sha256 its CHECKSUM lists (a dump "
            "accepted without a CHECKSUM is a warning: verified by size only).")],
    )
    def raw_entity(
        context: dg.AssetExecutionContext,
        settings: PipelineSettings,
        dump_source: DumpSourceResource,
        gate: IngestionGateResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        month = context.partition_key
        with month_step(context, gate, warehouse, owner=entity, stage=Stage.DOWNLOAD,
                        dump_host=dump_source.host()) as step:
            month_dir = raw_dir(settings.data_path, month)
            manifest = MonthManifest.read(month_dir)
            if manifest is None:
                raise NonRetryableError(
                    f"no dump resolved for {month}: materialize discogs_checksum first"
                )
            absent = absent_kind_result(context, step, settings.data_path, entity, f"raw_{entity}")
            if absent is not None:
                return absent
            listed = manifest.dump.files[entity]
            expected = manifest.sha256.get(listed.name)
            with dump_source.get_source(log=context.log) as source:
                result = source.download(
                    listed,
                    month_dir,
                    expected_sha256=expected,
                    progress=_download_progress(context, listed.name),
                )
            step.finish(stats_patch={f"raw_{entity}": {
                "bytes": result.bytes, "seconds": round(result.seconds, 3),
                "skipped_already_verified": result.skipped}})
        return dg.MaterializeResult(
            metadata={
                "file": result.path.name,
                "dump_date": manifest.dump_date,
                "sha256": result.sha256,
                "bytes": result.bytes,
                "duration_s": round(result.seconds, 3),
                "mb_per_s": round(result.mb_per_s, 2),
                "requests": result.requests,
                "skipped_already_verified": result.skipped,
                "verified": result.verified,
            },
            check_results=[_sha256_result(result, expected)],
        )

    return raw_entity


def _sha256_result(result: DownloadResult, expected: str | None) -> dg.AssetCheckResult:
    """The download hashed the file while writing it (or found it unchanged since): compare."""
    name = result.path.name
    if expected is None:
        return dg.AssetCheckResult(
            check_name=SHA256_CHECK, passed=False, severity=dg.AssetCheckSeverity.WARN,
            metadata={"file": name, "sha256": result.sha256},
            description=f"{name} was accepted without a CHECKSUM: size only")
    passed = result.sha256 == expected
    return dg.AssetCheckResult(
        check_name=SHA256_CHECK, passed=passed,
        metadata={"file": name, "sha256": result.sha256, "expected": expected},
        description=None if passed else
        f"{name}: sha256 {result.sha256} but the CHECKSUM lists {expected}")


def _download_progress(
    context: dg.AssetExecutionContext, name: str
) -> Callable[[int, int | None, float, float | None], None]:
    log = ProgressLog(context, PROGRESS_LOG_SECONDS)

    def report(done: int, total: int | None, mbps: float, eta_s: float | None) -> None:
        pct = f"{100 * done / total:.1f}%" if total else "?%"
        eta = f"{eta_s:.0f}s" if eta_s is not None else "?"
        log.info(f"download file={name} bytes={done} total={total} progress={pct} "
                 f"mb_per_s={mbps:.1f} eta={eta}", done=total is not None and done >= total)

    return report


raw_assets = [_raw_asset(entity) for entity in ENTITIES]
