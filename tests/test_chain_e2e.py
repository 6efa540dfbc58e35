"""The whole chain, through Dagster, on the project's own sample mirror (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from chain_helpers import (
    chain_defs,
    failures,
    materializations,
    run_month,
    warehouse_snapshot,
)

from discogs_assets.lib.caches import import_identities
from discogs_assets.lib.sample_mirror import build_sample_mirror
from discogs_assets.lib.tables import TABLES
from discogs_assets.lib.warehouse import make_engine, run_models

MONTHS = ("2026-01", "2026-02")


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mirror")
    build_sample_mirror(root, months=MONTHS, scale=1)
    return root


def test_full_chain_two_months_and_rerun_is_idempotent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mirror: Path, warehouse_url: str
) -> None:
    definitions = chain_defs(monkeypatch, tmp_path / "data", mirror, warehouse_url)
    engine = make_engine(warehouse_url)
    run_models(engine)
    import_identities(engine, mirror / "identities.csv")
    with dg.DagsterInstance.ephemeral() as instance:
        first = run_month(definitions, MONTHS[0], instance)
        assert first.success, failures(first)
        second = run_month(definitions, MONTHS[1], instance)
        assert second.success, failures(second)
        after_two = warehouse_snapshot(warehouse_url)
        rerun = run_month(definitions, MONTHS[1], instance)
        assert rerun.success, failures(rerun)
        after_rerun = warehouse_snapshot(warehouse_url)
        for table in after_two:  # per table, so a failure shows the rows that moved
            assert set(after_rerun[table]) ^ set(after_two[table]) == set(), table

        metadata = materializations(rerun)
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
    definitions = chain_defs(monkeypatch, tmp_path / "data", mirror, url, gate=False)
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_month(definitions, MONTHS[0], instance)
    assert not result.success
    messages = " ".join(failures(result))
    assert "Discogs ingestion is gated" in messages
    # Nothing was written: no raw files, not even a warehouse file.
    assert not (tmp_path / "data" / "raw").exists()
    assert not (tmp_path / "wh.sqlite").exists()
