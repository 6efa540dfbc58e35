"""Identity caches: warm per-identity documents after each monthly load, then refresh the LML
service once per dump cycle.

Two assets on purpose: the remote refresh sits in the ``lml_refresh`` pool (one at a time on
the instance) and can take hours at the service's rate budget; in one asset with the warm, that
pool would also queue every backfilled month's local warm behind it. Apart, the local warms run
as the run limits allow, a refresh that fails (a 401, the endpoint missing) leaves the month's
warm done, and the refresh can be rerun alone.
"""

import dagster as dg
from pydantic import Field

from discogs_assets.defs.month_step import month_step
from discogs_assets.defs.partitions import (
    MONTHLY_BACKFILL,
    OWNERS,
    monthly_check,
    monthly_partitions,
)
from discogs_assets.instance import LML_POOL
from discogs_assets.lib.caches import (
    BUDGET_FILE,
    NOT_FOUND_RATIO_LIMIT,
    sentry_span,
    stale_references,
    warm_local,
)
from discogs_assets.lib.caches.monthly import refresh_for_month
from resources.caches import CacheRefreshResource
from resources.gate import IngestionGateResource
from resources.settings import PipelineSettings
from resources.warehouse import WarehouseResource

STALE_REFERENCES_CHECK = "identity_references_current"


@dg.asset(
    deps=["warehouse_releases", "warehouse_artists", "warehouse_masters"],
    partitions_def=monthly_partitions,
    backfill_policy=MONTHLY_BACKFILL,
    group_name="caches",
    kinds={"python", "sql"},
    owners=OWNERS,
    description="Warm cache documents (cache_release / cache_master / cache_artist) for every "
    "active identity not flagged discogs_unavailable; counters local.*.",
)
def identity_caches(
    context: dg.AssetExecutionContext,
    gate: IngestionGateResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    month = context.partition_key
    with month_step(context, gate, warehouse, owner=None, stage=None) as step:
        warm = warm_local(step.lifecycle.engine, month=month, log=context.log)
        metadata = {**warm.counters.as_metadata(),
                    "skipped_discogs_unavailable": warm.skipped_discogs_unavailable}
        with sentry_span(metadata, name="identity caches: local warm"):
            pass
        step.lifecycle.record_stats(month, {"identity_caches": metadata})
    return dg.MaterializeResult(
        metadata={**metadata, "documents": dg.MetadataValue.json(warm.documents)})


class LmlRefreshConfig(dg.Config):
    force: bool = Field(
        default=False,
        description="Refresh even when a newer month is completed or in flight (normally only "
        "the newest month refreshes the service: one refresh per dump cycle).")


@dg.asset(
    deps=["identity_caches"],
    partitions_def=monthly_partitions,
    backfill_policy=MONTHLY_BACKFILL,
    group_name="caches",
    kinds={"python"},
    owners=OWNERS,
    pool=LML_POOL,
    description="Refresh the LML service's cache for every active identity not flagged "
    "discogs_unavailable (when LML_BASE_URL is set), for the newest month only; counters lml.*.",
    check_specs=[
        monthly_check(
            STALE_REFERENCES_CHECK,
            "lml_cache_refresh",
            description="At most 1 % of identities point at records that no longer exist: "
            "lml.not_found / lml.identities_scanned when the service was refreshed, the local "
            "warm's local.not_found / local.identities_scanned otherwise.",
        )
    ],
)
def lml_cache_refresh(
    context: dg.AssetExecutionContext,
    config: LmlRefreshConfig,
    gate: IngestionGateResource,
    warehouse: WarehouseResource,
    cache_refresh: CacheRefreshResource,
    settings: PipelineSettings,
) -> dg.MaterializeResult:
    month = context.partition_key
    remote_config = cache_refresh.config() if cache_refresh.enabled else None
    with month_step(context, gate, warehouse, owner=None, stage=None) as step:
        refresh = refresh_for_month(
            step.lifecycle.engine, month, remote_config, step.lifecycle.all(), context.log,
            force=config.force, budget_path=settings.data_path / BUDGET_FILE)
        if refresh.counters is not None:
            with sentry_span(refresh.counter_metadata(), name="identity caches: LML refresh"):
                pass
        metadata = refresh.metadata()
        step.lifecycle.record_stats(month, {"lml_cache_refresh": metadata})
        local = (step.lifecycle.get(month) or {}).get("stats", {}).get("identity_caches")
    stale = stale_references(refresh.counters, local)
    return dg.MaterializeResult(metadata=metadata, check_results=[dg.AssetCheckResult(
        check_name=STALE_REFERENCES_CHECK,
        passed=stale.passed,
        metadata={"basis": stale.basis, "not_found": stale.not_found, "scanned": stale.scanned,
                  "not_found_ratio": round(stale.ratio, 4), "threshold": NOT_FOUND_RATIO_LIMIT},
    )])
