"""The whole chain, through Dagster, on the project's own sample mirror (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from discogs_assets.definitions import defs
from discogs_assets.lib.caches import import_identities
from discogs_assets.lib.sample_mirror import build_sample_mirror
from discogs_assets.lib.tables import TABLES
from discogs_assets.lib.warehouse import make_engine, run_models

MONTHS = ("2026-01", "2026-02")
# Columns that record when or by which run a row was written, not what it holds.
VOLATILE = {"updated_at", "loaded_at", "created_at", "warmed_at", "first_loaded_at", "built_at",
            "seconds", "runs", "run_id", "rows_written"}


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mirror")
    build_sample_mirror(root, months=MONTHS, scale=1)
    return root


def _defs(monkeypatch: pytest.MonkeyPatch, data_dir: Path, mirror: Path, warehouse_url: str,
          *, gate: bool = True) -> dg.Definitions:
    monkeypatch.setenv("DISCOGS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DISCOGS_DUMPS_URL", mirror.as_uri())
    monkeypatch.setenv("DISCOGS_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("DISCOGS_INGESTION_ENABLED", "true" if gate else "false")
    for name in ("LML_BASE_URL", "LML_API_KEY", "SENTRY_DSN"):
        monkeypatch.delenv(name, raising=False)
    return defs()


def _run_month(definitions: dg.Definitions, month: str, instance: dg.DagsterInstance
               ) -> dg.ExecuteInProcessResult:
    job = definitions.resolve_job_def("discogs_monthly")
    return job.execute_in_process(partition_key=month, instance=instance, raise_on_error=False)


def _failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """Each failed step with the error it raised."""
    out = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            out.append(f"{event.step_key}: {error.message if error else event.message}")
    return out


def _snapshot(url: str) -> dict[str, list[tuple]]:
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


def test_full_chain_two_months_and_rerun_is_idempotent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mirror: Path, warehouse_url: str
) -> None:
    definitions = _defs(monkeypatch, tmp_path / "data", mirror, warehouse_url)
    engine = make_engine(warehouse_url)
    run_models(engine)
    import_identities(engine, mirror / "identities.csv")
    with dg.DagsterInstance.ephemeral() as instance:
        first = _run_month(definitions, MONTHS[0], instance)
        assert first.success, _failures(first)
        second = _run_month(definitions, MONTHS[1], instance)
        assert second.success, _failures(second)
        after_two = _snapshot(warehouse_url)
        rerun = _run_month(definitions, MONTHS[1], instance)
        assert rerun.success, _failures(rerun)
        after_rerun = _snapshot(warehouse_url)
        for table in after_two:  # per table, so a failure shows the rows that moved
            assert set(after_rerun[table]) ^ set(after_two[table]) == set(), table

        metadata = {
            e.asset_key.to_user_string(): e.materialization.metadata
            for e in rerun.get_asset_materialization_events()
        }
    # The rerun resolved the month from disk and found every file verified: no request.
    assert metadata["discogs_checksum"]["requests"].value == 0
    for entity in ("labels", "artists", "masters", "releases"):
        assert metadata[f"raw_{entity}"]["skipped_already_verified"].value is True

    assert all(after_two[t.name] for t in TABLES if t.is_root), "a root table is empty"
    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        status = dict(conn.execute(sa.text(
            "SELECT month, status FROM discogs_data_processing")).all())
    engine.dispose()
    assert status == {MONTHS[0]: "completed", MONTHS[1]: "completed"}
    raw = tmp_path / "data" / "raw" / MONTHS[1]
    assert sorted(p.name for p in raw.glob("*.xml.gz")) == sorted(
        f"discogs_{MONTHS[1].replace('-', '')}01_{e}.xml.gz"
        for e in ("artists", "labels", "masters", "releases")
    )


def test_gated_run_fails_first_step_and_touches_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mirror: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    definitions = _defs(monkeypatch, tmp_path / "data", mirror, url, gate=False)
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run_month(definitions, MONTHS[0], instance)
    assert not result.success
    messages = " ".join(_failures(result))
    assert "Discogs ingestion is gated" in messages
    # Nothing was written: no raw files, not even a warehouse file.
    assert not (tmp_path / "data" / "raw").exists()
    assert not (tmp_path / "wh.sqlite").exists()
