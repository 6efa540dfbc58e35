"""Acquisition: resolve the month's dump, fetch its CHECKSUM, download and verify each file."""


import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg

from discogs_assets.defs.month_step import month_step
from discogs_assets.defs.partitions import MONTHLY_BACKFILL, OWNERS, monthly_partitions
from discogs_assets.lib.acquisition import ChecksumError, DumpSource, parse_checksum
from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.layout import raw_dir
from discogs_assets.lib.lifecycle import CHECKSUM_STEP, Stage
from discogs_assets.lib.manifest import MonthManifest
from discogs_assets.lib.tables import ENTITIES
from resources.dump_source import DumpSourceResource
from resources.gate import IngestionGateResource
from resources.settings import PipelineSettings
from resources.warehouse import WarehouseResource

DOWNLOAD_POOL = "discogs_downloads"
PROGRESS_LOG_SECONDS = 15.0

# Short waits only: long ones (a 429 with an hour's Retry-After) fail the run for the retry sensor.
DOWNLOAD_RETRY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


class ChecksumConfig(dg.Config):
    refresh_listing: bool = False
    """Ask the source again even when this month's CHECKSUM is already on disk."""
    accept_unverified: bool = False
    """Accept a dump that never got a CHECKSUM, verified by listed size only (this run only)."""


@dg.asset(
    partitions_def=monthly_partitions,
    backfill_policy=MONTHLY_BACKFILL,
    group_name="acquisition",
    kinds={"python", "file"},
    owners=OWNERS,
    retry_policy=DOWNLOAD_RETRY,
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
        requests = 0
        if manifest is None:
            with dump_source.get_source(log=context.log) as source:
                manifest = _resolve_month(source, month, config.accept_unverified)
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
    files = {kind: {"name": f.name, "size": f.size, "sha256": manifest.sha256.get(f.name)}
             for kind, f in manifest.dump.files.items() if kind in ENTITIES}
    context.log.info(f"month={month} dump={manifest.dump_date} files={sorted(files)} "
                     f"verified={manifest.verified} requests={requests}")
    return dg.MaterializeResult(
        metadata={
            "dump_date": manifest.dump_date,
            "checksum_sha256": manifest.checksum_sha256 or "(none: accepted unverified)",
            "verified": manifest.verified,
            "files": dg.MetadataValue.json(files),
            "missing_kinds": ", ".join(k for k in ENTITIES if k not in files) or "none",
            "requests": requests,
        },
    )


def _resolve_month(source: DumpSource, month: str, accept_unverified: bool) -> MonthManifest:
    """One listing request, plus one for the CHECKSUM when the dump has one."""
    dump = source.find_month(month, accept_unverified=accept_unverified)
    checksum = dump.checksum_file
    if checksum is None:
        return MonthManifest(dump, checksum_sha256=None)
    body = source.fetch_bytes(checksum)
    sums = parse_checksum(body.decode("utf-8"), source_name=checksum.name)
    for kind in ENTITIES:
        listed = dump.files.get(kind)
        if listed is not None and listed.name not in sums:
            raise ChecksumError(f"{checksum.name} lists no sha256 for {listed.name} ({month})")
    return MonthManifest(dump, hashlib.sha256(body).hexdigest(), sums)


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
        description=f"The month's {entity} dump (.xml.gz) on local disk, SHA-256 verified against "
        "the CHECKSUM; resumable, skipped when already present and verified.",
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
            listed = manifest.data_file(entity)
            if listed is None:
                raise NonRetryableError(
                    f"dump {manifest.dump_date} for {month} has no {entity} file published yet"
                )
            with dump_source.get_source(log=context.log) as source:
                result = source.download(
                    listed,
                    month_dir,
                    expected_sha256=manifest.sha256.get(listed.name),
                    progress=_progress_logger(context, listed.name),
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
            }
        )

    return raw_entity


def _progress_logger(
    context: dg.AssetExecutionContext, name: str
) -> Callable[[int, int | None, float, float | None], None]:
    last = [0.0]

    def report(done: int, total: int | None, mbps: float, eta_s: float | None) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_LOG_SECONDS and (total is None or done < total):
            return
        last[0] = now
        pct = f"{100 * done / total:.1f}%" if total else "?%"
        eta = f"{eta_s:.0f}s" if eta_s is not None else "?"
        context.log.info(f"download file={name} bytes={done} total={total} progress={pct} "
                         f"mb_per_s={mbps:.1f} eta={eta}")

    return report


raw_assets = [_raw_asset(entity) for entity in ENTITIES]
