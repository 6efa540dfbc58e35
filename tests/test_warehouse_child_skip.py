"""A changed record rewrites only the child tables whose rows changed (per-table fingerprints
in ``child_hashes``), and ends in the same state as loading its month from scratch."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from warehouse_helpers import base_month, snapshot, write_month

from discogs_assets.lib.tables import tables_for
from discogs_assets.lib.warehouse import load_month, make_engine, run_models

CHILDREN = [s.name for s in tables_for("releases")[1:]]


def load(engine: sa.Engine, root: Path, month: str) -> None:
    load_month(engine, month=month, entity="releases", parsed_dir=root / month / "releases",
               log=lambda _: None)


MARKERS = [  # out-of-band edits a rewrite of that table would undo
    ("release_artist", "name", 1000),
    ("release_track", "duration", 1000),
    ("release_label", "catno", 1001),
    ("release_artist", "name", 1001),
]


def mark(engine: sa.Engine, markers: list[tuple[str, str, int]]) -> None:
    with engine.begin() as conn:
        for table, column, release in markers:
            conn.execute(sa.text(f'UPDATE "{table}" SET "{column}" = \'marker\' '
                                 "WHERE release_id = :r"), {"r": release})


def feb_month() -> dict:
    """Release 1000: root row edited only; release 1001: one track edited only."""
    feb = base_month()
    releases = feb["releases"]
    releases["release"][0]["title"] = "Landcruising (Remaster)"
    releases["release_track"][3]["title"] = "Sub track (edit)"
    return {"releases": releases}


def state(engine: sa.Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        root = conn.execute(sa.text(
            "SELECT id, title, content_hash, fast_hash, child_hashes FROM release ORDER BY id"
        )).all()
    return {"release": [tuple(r) for r in root], **snapshot(engine, CHILDREN)}


def test_only_changed_child_tables_are_rewritten(engine: sa.Engine, tmp_path: Path) -> None:
    write_month(tmp_path, "2026-01", {"releases": base_month()["releases"]})
    write_month(tmp_path, "2026-02", feb_month())
    load(engine, tmp_path, "2026-01")
    mark(engine, [*MARKERS, ("release_track", "duration", 1001)])
    load(engine, tmp_path, "2026-02")

    with engine.connect() as conn:
        for table, column, release in MARKERS:  # tables whose rows did not change: untouched
            assert set(conn.execute(sa.text(f'SELECT "{column}" FROM "{table}" '
                                            "WHERE release_id = :r"), {"r": release}).scalars()
                       ) == {"marker"}, (table, release)
        # release 1001's tracks changed: the table was rewritten from the input
        assert "marker" not in conn.execute(sa.text(
            "SELECT duration FROM release_track WHERE release_id = 1001")).scalars().all()

    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    run_models(fresh)
    load(fresh, tmp_path, "2026-02")
    mark(fresh, MARKERS)
    assert state(engine) == state(fresh)
    fresh.dispose()


def test_missing_or_stale_child_hashes_rewrite_every_child_table(engine: sa.Engine,
                                                                  tmp_path: Path) -> None:
    """Rows without per-table fingerprints (or with foreign ones) are never trusted: the
    record's child tables are all replaced and the fingerprints refreshed."""
    write_month(tmp_path, "2026-01", {"releases": base_month()["releases"]})
    write_month(tmp_path, "2026-02", feb_month())
    load(engine, tmp_path, "2026-01")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE release SET child_hashes = NULL WHERE id = 1000"))
        conn.execute(sa.text("UPDATE release SET child_hashes = 'x' WHERE id = 1001"))
        # stale child rows that only a full rewrite of release 1000's tables removes
        conn.execute(sa.text("UPDATE release_genre SET genre = 'Stale' WHERE release_id = 1000"))
    load(engine, tmp_path, "2026-02")

    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    run_models(fresh)
    load(fresh, tmp_path, "2026-02")
    assert state(engine) == state(fresh)
    fresh.dispose()
