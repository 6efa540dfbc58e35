"""The whole chain on a mirror spanning the dump history: a 2008-era month (no root element,
control characters, no masters file, no master_id, kinds spread over two dumps with a CHECKSUM
each, as 2011-02 was) followed by a 2026 month, on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from chain_helpers import chain_defs, failures, materializations, run_month
from parsing_helpers import parse_to_frames, read_tables
from polars.testing import assert_frame_equal

from discogs_assets.lib.layout import parsed_dir, raw_dir
from discogs_assets.lib.sample_mirror import MirrorSummary, build_sample_mirror
from discogs_assets.lib.tables import ENTITIES
from discogs_assets.lib.warehouse import make_engine

OLD, NEW = "2011-02", "2026-01"


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> MirrorSummary:
    return build_sample_mirror(tmp_path_factory.mktemp("mirror"), months=(OLD, NEW),
                               dump_days={OLD: {"releases": 11}})


def test_old_and_new_layout_months_complete_and_parse_like_the_reference(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mirror: MirrorSummary, pg_url: str
) -> None:
    data = tmp_path / "data"
    definitions = chain_defs(monkeypatch, data, mirror.root, pg_url)
    with dg.DagsterInstance.ephemeral() as instance:
        old = run_month(definitions, OLD, instance)
        assert old.success, failures(old)
        new = run_month(definitions, NEW, instance)
        assert new.success, failures(new)
    meta = materializations(old)

    # 2011-02 merged two dumps, each file verified against its own CHECKSUM; no masters file
    files = meta["discogs_checksum"]["files"].value
    assert {k: (f["dump_date"], f["checksum"]) for k, f in files.items()} == {
        "labels": ("20110201", "discogs_20110201_CHECKSUM.txt"),
        "artists": ("20110201", "discogs_20110201_CHECKSUM.txt"),
        "releases": ("20110211", "discogs_20110211_CHECKSUM.txt"),
    }
    assert meta["discogs_checksum"]["missing_kinds"].value == "masters"
    for step in ("raw_masters", "parsed_masters", "warehouse_masters"):
        assert meta[step]["published"].value is False, step
    assert meta["raw_releases"]["verified"].value is True
    assert not parsed_dir(data, OLD, "masters").exists()

    # the chain's parsed tables (fast engine) equal the lxml reference on the raw files
    for month in (OLD, NEW):
        for entity in (e for e in ENTITIES if e in mirror.months[month].files):
            name = mirror.months[month].files[entity].name
            _, reference = parse_to_frames(raw_dir(data, month) / name,
                                           tmp_path / "ref" / month / entity, engine="reference")
            ours = read_tables(parsed_dir(data, month, entity), entity)
            assert ours.keys() == reference.keys()
            for table, frame in reference.items():
                assert_frame_equal(ours[table], frame, check_exact=True)
            assert reference[next(iter(reference))].height == mirror.months[month].counts[entity]

    engine = make_engine(pg_url)
    with engine.connect() as conn:
        rows = {r.month: r for r in conn.execute(sa.text(
            "SELECT month, status, dump_date, stats FROM discogs_data_processing"))}
        phases = {r.entity: r for r in conn.execute(sa.text(
            "SELECT entity, phase, records_loaded, note FROM discogs_month_phases "
            "WHERE month = :m"), {"m": OLD})}
        masters_by_month = dict(conn.execute(sa.text(
            "SELECT first_seen_month, count(*) FROM master GROUP BY first_seen_month")).all())
        old_releases = conn.execute(sa.text(
            "SELECT count(*) FROM release WHERE master_id IS NULL")).scalar_one()
    engine.dispose()
    assert {m: (r.status, r.dump_date) for m, r in rows.items()} == {
        OLD: ("completed", "20110211"), NEW: ("completed", "20260101")}
    assert rows[OLD].stats["warehouse_masters"] == {"absent": True}
    masters = phases["masters"]
    assert (masters.phase, masters.records_loaded) == ("loaded", 0)
    assert masters.note.startswith("no masters file in the dumps of 2011-02")
    # masters appear only with the 2026 month; 2011 releases had no master_id at all
    assert masters_by_month == {NEW: mirror.months[NEW].counts["masters"]}
    assert old_releases > 0
