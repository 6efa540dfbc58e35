"""Acquisition: resolve the month's dump, fetch its CHECKSUM, download and verify each file."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from discogs_assets.defs.partitions import OWNERS, monthly_partitions
from discogs_assets.defs.tracking import month_step
from discogs_assets.lib.acquisition import DumpFile, parse_checksum
from discogs_assets.lib.atomic import write_bytes_atomic
from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.layout import raw_dir
from discogs_assets.lib.manifest import ManifestFile, MonthManifest
from discogs_assets.lib.tables import ENTITIES
from discogs_assets.lib.warehouse import ProcessingStatus
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
    with month_step(context, gate, warehouse, ProcessingStatus.DOWNLOADING) as processing:
        month_dir = raw_dir(settings.data_path, month)
        manifest = None if config.refresh_listing else MonthManifest.read(month_dir)
        requests = 0
        if manifest is None:
            manifest, requests = _resolve_month(context, dump_source, month, config, month_dir)
        else:
            context.log.info(f"month={month} dump={manifest.dump_date} already resolved on disk; "
                             "no request made (refresh_listing=true asks again)")
        processing.update(
            month,
            dump_date=manifest.dump_date,
            checksum_sha256=manifest.checksum_sha256,
            checksums={f.name: f.sha256 for f in manifest.files.values()},
            unverified=not manifest.verified,
        )
    return dg.MaterializeResult(
        metadata={
            "dump_date": manifest.dump_date,
            "checksum_file": manifest.checksum_name or "(none: accepted unverified)",
            "checksum_sha256": manifest.checksum_sha256 or "",
            "verified": manifest.verified,
            "files": dg.MetadataValue.json(
                {k: {"name": f.name, "size": f.size, "sha256": f.sha256}
                 for k, f in manifest.files.items()}
            ),
            "missing_kinds": ", ".join(k for k in ENTITIES if k not in manifest.files) or "none",
            "requests": requests,
        },
    )


def _resolve_month(
    context: dg.AssetExecutionContext,
    dump_source: DumpSourceResource,
    month: str,
    config: ChecksumConfig,
    month_dir: Path,
) -> tuple[MonthManifest, int]:
    source = dump_source.client(log=context.log)
    dump = source.find_month(month, accept_unverified=config.accept_unverified)
    requests = 1
    sums: dict[str, str] = {}
    checksum_sha = None
    if dump.checksum_file is not None:
        body = source.fetch_bytes(dump.checksum_file)
        requests += 1
        sums = parse_checksum(body.decode("utf-8", errors="strict"),
                              source_name=dump.checksum_file.name)
        write_bytes_atomic(month_dir / dump.checksum_file.name, body)
        checksum_sha = hashlib.sha256(body).hexdigest()
    files = {}
    for kind in ENTITIES:
        f = dump.files.get(kind)
        if f is None:
            continue
        if dump.checksum_file is not None and f.name not in sums:
            raise NonRetryableError(
                f"{dump.checksum_file.name} lists no sha256 for {f.name} (month {month})"
            )
        files[kind] = ManifestFile(name=f.name, key=f.key, size=f.size, sha256=sums.get(f.name))
    manifest = MonthManifest(
        month=month,
        dump_date=dump.date,
        verified=dump.checksum_file is not None,
        checksum_name=dump.checksum_file.name if dump.checksum_file else None,
        checksum_sha256=checksum_sha,
        files=files,
    )
    manifest.write(month_dir)
    context.log.info(f"month={month} dump={dump.date} files={sorted(files)} "
                     f"verified={manifest.verified} requests={requests}")
    return manifest, requests


def _raw_asset(entity: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"raw_{entity}",
        deps=[discogs_checksum],
        partitions_def=monthly_partitions,
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
        with month_step(context, gate, warehouse, ProcessingStatus.DOWNLOADING) as processing:
            month_dir = raw_dir(settings.data_path, month)
            manifest = MonthManifest.read(month_dir)
            if manifest is None:
                raise NonRetryableError(
                    f"no dump resolved for {month}: materialize discogs_checksum first"
                )
            listed = manifest.files.get(entity)
            if listed is None:
                raise NonRetryableError(
                    f"dump {manifest.dump_date} for {month} has no {entity} file published yet"
                )
            result = dump_source.client(log=context.log).download(
                DumpFile(name=listed.name, size=listed.size, key=listed.key),
                month_dir,
                expected_sha256=listed.sha256,
                progress=_progress_logger(context, listed.name),
            )
            if all((month_dir / f.name).exists() for f in manifest.files.values()) and len(
                manifest.files
            ) == len(ENTITIES):
                processing.transition(month, ProcessingStatus.READY_FOR_PROCESSING,
                                      run_id=context.run_id)
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
                "verified": listed.sha256 is not None,
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
