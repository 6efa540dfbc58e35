"""Identity caches: warm per-identity documents after each monthly load."""


import dagster as dg

from discogs_assets.defs.month_step import month_step
from discogs_assets.defs.partitions import MONTHLY_BACKFILL, OWNERS, monthly_partitions
from discogs_assets.lib.caches import (
    NOT_FOUND_RATIO_LIMIT,
    not_found_ratio,
    refresh_remote,
    sentry_span,
    warm_local,
)
from resources.caches import CacheRefreshResource
from resources.gate import IngestionGateResource
from resources.warehouse import WarehouseResource

STALE_REFERENCES_CHECK = "identity_references_current"


@dg.asset(
    deps=["warehouse_releases", "warehouse_artists", "warehouse_masters"],
    partitions_def=monthly_partitions,
    backfill_policy=MONTHLY_BACKFILL,
    group_name="caches",
    kinds={"python", "sql"},
    owners=OWNERS,
    description="Warm cache documents (cache_release / cache_artist) for every active identity "
    "not flagged discogs_unavailable; optionally refreshes a remote lookup service's cache.",
    check_specs=[
        dg.AssetCheckSpec(
            STALE_REFERENCES_CHECK,
            asset="identity_caches",
            description="At most 1 % of scanned identities point at records missing from the "
            "warehouse (stale identity references).",
        )
    ],
)
def identity_caches(
    context: dg.AssetExecutionContext,
    gate: IngestionGateResource,
    warehouse: WarehouseResource,
    cache_refresh: CacheRefreshResource,
) -> dg.MaterializeResult:
    month = context.partition_key
    remote_config = cache_refresh.config() if cache_refresh.enabled else None
    with month_step(context, gate, warehouse, owner=None, stage=None) as step:
        engine = step.lifecycle.engine
        counters = warm_local(engine, month=month, log=context.log)
        if remote_config is not None:
            counters = refresh_remote(engine, remote_config, counters, log=context.log)
        metadata = counters.as_metadata()
        with sentry_span(counters):  # one span per run, every counter set at creation
            pass
        step.lifecycle.record_stats(month, {"identity_caches": metadata})
    ratio = not_found_ratio(counters)
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "documents": dg.MetadataValue.json(counters.documents),
            "remote_refresh": remote_config is not None,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=STALE_REFERENCES_CHECK,
                passed=ratio <= NOT_FOUND_RATIO_LIMIT,
                metadata={"not_found_ratio": round(ratio, 4),
                          "threshold": NOT_FOUND_RATIO_LIMIT},
            )
        ],
    )
