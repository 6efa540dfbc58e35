"""Helpers for tests that run the monthly chain in process on a sample mirror."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from discogs_assets.definitions import defs
from discogs_assets.lib.tables import TABLES
from discogs_assets.lib.warehouse import make_engine

# Columns that record when or by which run a row was written, not what it holds.
VOLATILE = {"updated_at", "loaded_at", "created_at", "warmed_at", "first_loaded_at", "built_at",
            "seconds", "runs", "run_id", "rows_written"}


def chain_defs(monkeypatch: pytest.MonkeyPatch, data_dir: Path, mirror: Path, warehouse_url: str,
               *, gate: bool = True) -> dg.Definitions:
    """The project's definitions pointed at ``mirror`` (a ``file://`` source) and a warehouse."""
    monkeypatch.setenv("DISCOGS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DISCOGS_DUMPS_URL", mirror.as_uri())
    monkeypatch.setenv("DISCOGS_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("DISCOGS_INGESTION_ENABLED", "true" if gate else "false")
    for name in ("LML_BASE_URL", "LML_API_KEY", "SENTRY_DSN"):
        monkeypatch.delenv(name, raising=False)
    return defs()


def run_month(definitions: dg.Definitions, month: str, instance: dg.DagsterInstance,
              run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    job = definitions.resolve_job_def("discogs_monthly")
    return job.execute_in_process(partition_key=month, instance=instance, raise_on_error=False,
                                  run_config=run_config)


def failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """Each failed step with the error it raised."""
    out = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            out.append(f"{event.step_key}: {error.message if error else event.message}")
    return out


def materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    """Asset key -> the metadata of its materialization in the run."""
    return {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}


def warehouse_snapshot(url: str) -> dict[str, list[tuple]]:
    """Every warehouse table's content, sorted, without write-time columns."""
    engine = make_engine(url)
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for table in [t.name for t in TABLES] + ["month_changes", "cache_release", "cache_artist"]:
            rows = conn.execute(sa.text(f"SELECT * FROM {table}")).mappings().all()
            out[table] = sorted(
                tuple((k, str(v)) for k, v in sorted(r.items()) if k not in VOLATILE)
                 for r in rows
            )
    engine.dispose()
    return out
