"""Warehouse: the schema models of dbt_like_sql/ and the monthly current-state loads.

Checks (warnings, evaluated by the load step): ``warehouse_<entity>:referential_integrity``
(references to ids missing from the warehouse, counted by the load itself) and
``warehouse_releases:health_views_agree`` (the health views agree with the processing table).
"""


from collections.abc import Iterator

import dagster as dg
import sqlalchemy as sa

from discogs_assets.defs.absent_kinds import absent_kind_result
from discogs_assets.defs.month_step import month_step
from discogs_assets.defs.partitions import (
    MONTHLY_BACKFILL,
    OWNERS,
    monthly_check,
    monthly_partitions,
)
from discogs_assets.lib.layout import parsed_dir
from discogs_assets.lib.lifecycle import Stage
from discogs_assets.lib.tables import ENTITIES, ENTITY_ROOT_TABLE
from discogs_assets.lib.warehouse import LoadResult, list_models, load_month, quality, run_models
from resources.gate import IngestionGateResource
from resources.settings import PipelineSettings
from resources.warehouse import WarehouseResource

SCHEMA_GROUP = "warehouse_schema"
_MODELS = list_models()
REFERENCES_CHECK = "referential_integrity"
HEALTH_CHECK = "health_views_agree"
WARN = dg.AssetCheckSeverity.WARN


def _model_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["sql", name])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            _model_key(m.name),
            deps=[_model_key(d) for d in m.depends_on],
            group_name=SCHEMA_GROUP,
            kinds={"sql"},
            owners=OWNERS,
            description=f"Warehouse model dbt_like_sql/{m.path.name} (rerunnable DDL or view).",
            skippable=True,
        )
        for m in _MODELS
    ],
    can_subset=True,
    name="warehouse_schema",
)
def warehouse_schema(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    # _MODELS is in dependency order; Dagster wants outputs in topological order too.
    names = [m.name for m in _MODELS if _model_key(m.name) in context.selected_asset_keys]
    # this job is the explicit migration
    run_models(warehouse.engine(), names=names, options=warehouse.model_options)
    context.log.info(f"applied models={names} warehouse={warehouse.safe_url}")
    for name in names:
        yield dg.MaterializeResult(asset_key=_model_key(name))


class LoadConfig(dg.Config):
    allow_shrink: bool = False
    """Operator override for this run: apply a month even if an entity shrank past the guard."""


def _check_specs(entity: str) -> list[dg.AssetCheckSpec]:
    asset = f"warehouse_{entity}"
    checks = [monthly_check(REFERENCES_CHECK, asset, description="Counts references to ids "
                            "missing from the warehouse (kept as data; a warning).")]
    if entity == ENTITIES[-1]:  # the month is complete once releases are in
        checks.append(monthly_check(HEALTH_CHECK, asset, description="v_month_health, "
                                    "v_failed_months and v_pending_months agree with "
                                    "discogs_data_processing."))
    return checks


def _warehouse_asset(entity: str, previous: str | None) -> dg.AssetsDefinition:
    root = ENTITY_ROOT_TABLE[entity]
    asset = f"warehouse_{entity}"
    deps: list = [f"parsed_{entity}", _model_key(root)]
    if previous:
        deps.append(f"warehouse_{previous}")

    @dg.asset(
        name=asset,
        deps=deps,
        partitions_def=monthly_partitions,
        backfill_policy=MONTHLY_BACKFILL,
        group_name="warehouse",
        kinds={"sql", "python"},
        owners=OWNERS,
        pool="discogs_warehouse",
        description=f"Current state of {entity} in the SQL warehouse: changed rows upserted, "
        "absent ones tombstoned, monotonic (an older month never overwrites newer data).",
        check_specs=_check_specs(entity),
    )
    def warehouse_entity(
        context: dg.AssetExecutionContext,
        config: LoadConfig,
        settings: PipelineSettings,
        gate: IngestionGateResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        month = context.partition_key
        with month_step(context, gate, warehouse, owner=entity, stage=Stage.LOAD) as step:
            absent = absent_kind_result(context, step, settings.data_path, entity,
                                        f"warehouse_{entity}")
            if absent is not None:
                return absent
            result = load_month(
                step.lifecycle.engine,
                month=month,
                entity=entity,
                parsed_dir=parsed_dir(settings.data_path, month, entity),
                max_shrink=settings.max_shrink_fraction,
                allow_shrink=config.allow_shrink,
                log=context.log,
            )
            stats = _load_stats(result)
            if result.historical:
                context.log.warning(
                    f"month={month} entity={entity} is older than the warehouse's current month: "
                    "recorded as a historical snapshot, current state left unchanged"
                )
            # The month is completed (derived) once all four entities are loaded; an empty
            # entity only with the operator's override, which the note records.
            note = (f"0 {entity} records applied under the allow_shrink override "
                    f"(run {context.run.run_id})"
                    if result.staged_rows == 0 and config.allow_shrink else None)
            step.finish(stats_patch={f"warehouse_{entity}": stats}, records=result.staged_rows,
                        note=note)
        engine = step.lifecycle.engine
        results = [_references_result(entity, result, engine)]
        if entity == ENTITIES[-1]:
            results.append(_health_result(engine))
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.added + result.changed + result.unchanged,
                **{k: v for k, v in stats.items() if k != "dangling"},
                "dangling_references": dg.MetadataValue.json(result.dangling),
                "rows_written": result.rows_written,
                "rows_per_s": round(result.rows_per_s, 1),
                "warehouse": warehouse.safe_url,
            },
            check_results=results,
        )

    return warehouse_entity


def _load_stats(result: LoadResult) -> dict:
    """What the load did, as the month's processing row records it."""
    return {
        "added": result.added,
        "changed": result.changed,
        "removed": result.removed,
        "unchanged": result.unchanged,
        "revived": result.revived,
        "historical": result.historical,
        "seconds": round(result.seconds, 3),
        "dangling": result.dangling,
    }


def _references_result(entity: str, result: LoadResult, engine: sa.Engine
                       ) -> dg.AssetCheckResult:
    # The load counted the state's dangling references as it wrote (credits without an artist
    # id, ``.unlinked``, are not references); a historical month left the state alone and
    # counted nothing, so it is counted here.
    counts = (quality.dangling_counts(engine, entity) if result.historical else
              {k: n for k, n in result.dangling.items() if not k.endswith(".unlinked")})
    dangling = sum(counts.values())
    return dg.AssetCheckResult(
        check_name=REFERENCES_CHECK, passed=dangling == 0, severity=WARN,
        metadata={"dangling": dangling, "by_column": dg.MetadataValue.json(counts)},
        description=f"{dangling} dangling reference(s)" if dangling else None)


def _health_result(engine: sa.Engine) -> dg.AssetCheckResult:
    problems = quality.health_view_mismatches(engine)
    return dg.AssetCheckResult(check_name=HEALTH_CHECK, passed=not problems, severity=WARN,
                               description="; ".join(problems) or None,
                               metadata={"mismatches": len(problems)})


warehouse_assets = [
    _warehouse_asset(entity, ENTITIES[i - 1] if i else None) for i, entity in enumerate(ENTITIES)
]
