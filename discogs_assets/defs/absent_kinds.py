"""A kind the month's dumps do not publish (masters before 2011-11, labels and artists in
2013-01): its raw, parsed and warehouse steps succeed without work, so the month completes, and
the warehouse keeps that kind's current state (an absent file is not an empty catalogue)."""

from pathlib import Path

import dagster as dg

from discogs_assets.defs.month_step import MonthStep
from discogs_assets.lib.layout import raw_dir
from discogs_assets.lib.lifecycle import Stage
from discogs_assets.lib.manifest import MonthManifest


def absent_kind_result(context: dg.AssetExecutionContext, step: MonthStep, data_path: Path,
                       entity: str, stats_key: str) -> dg.MaterializeResult | None:
    """The step's result when the month has no ``entity`` file (its stage finished), else None.
    A kind listed only in a dump without a CHECKSUM raises (see ``MonthManifest.not_taken``)."""
    manifest = MonthManifest.read(raw_dir(data_path, step.month))
    reason = manifest.not_taken(entity) if manifest is not None else None
    if reason is None:
        return None
    context.log.info(f"month={step.month} {reason}")
    if step.stage is Stage.LOAD:  # a load applying nothing says why (zero-record guarantee)
        step.finish(stats_patch={stats_key: {"absent": True}}, records=0, note=reason)
    else:
        step.finish(stats_patch={stats_key: {"absent": True}})
    # The asset's checks (declared with it) have nothing to judge: each passes, saying why.
    checks = [dg.AssetCheckResult(check_name=spec.name, passed=True, description=reason,
                                  metadata={"published": False})
              for spec in context.assets_def.check_specs]
    return dg.MaterializeResult(metadata={"published": False, "reason": reason},
                                check_results=checks)
