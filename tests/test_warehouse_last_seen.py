"""Present rows store no "last seen" month (it is their entity's current month): a steady month
writes only the rows that changed, and a tombstone keeps the month its record was last seen
in, through remove/revive cycles, skipped months and reruns. Warehouses made before are
migrated once."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from warehouse_helpers import base_month, load_all, next_month, write_month

from discogs_assets.lib.tables import ENTITY_ROOT_TABLE
from discogs_assets.lib.warehouse import list_models, load_month, make_engine, run_models
from discogs_assets.lib.warehouse.hashing import HASH_SCHEME
from discogs_assets.lib.warehouse.models import model_statements

ROOTS = tuple(ENTITY_ROOT_TABLE.values())


def rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def watch_root_writes(engine: sa.Engine) -> Callable[[], set[tuple[str, int]]]:
    """From now on, which root rows get written: on PostgreSQL every write leaves a new row
    version (``xmin``); on SQLite triggers record inserts and updates. Returns a function
    giving the (table, id) pairs written since."""
    if engine.dialect.name == "postgresql":
        def versions() -> dict[tuple[str, int], str]:
            return {(t, i): v for t in ROOTS
                    for i, v in rows(engine, f"SELECT id, xmin::text FROM {t}")}

        before = versions()
        return lambda: {key for key, v in versions().items() if before.get(key) != v}
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE written (tbl TEXT, id INTEGER)"))
        for t in ROOTS:
            for event in ("INSERT", "UPDATE"):
                conn.execute(sa.text(f"CREATE TRIGGER written_{t}_{event} AFTER {event} ON {t} "
                                     f"BEGIN INSERT INTO written VALUES ('{t}', new.id); END"))
    return lambda: set(rows(engine, "SELECT tbl, id FROM written"))


def test_a_steady_month_writes_only_changed_rows(engine: sa.Engine, tmp_path: Path) -> None:
    write_month(tmp_path, "2026-01", base_month())
    write_month(tmp_path, "2026-02", next_month(base_month()))
    load_all(engine, tmp_path, "2026-01")
    written = watch_root_writes(engine)
    feb = load_all(engine, tmp_path, "2026-02")
    # label 1 edited, 3 removed, 4 added; release 1000 edited (a track), 1002 removed, 1003
    # added; every artist, the master and release 1001 unchanged: never written
    assert written() == {("label", 1), ("label", 3), ("label", 4),
                         ("release", 1000), ("release", 1002), ("release", 1003)}
    assert (feb["artists"].unchanged, feb["artists"].rows_written) == (3, 0)
    load_all(engine, tmp_path, "2026-02")  # a rerun writes nothing at all
    assert len(written()) == 6
    assert rows(engine, "SELECT COUNT(*) FROM release WHERE removed_in_month IS NULL "
                        "AND last_seen_month IS NOT NULL") == [(0,)]


def test_last_seen_month_of_tombstones(engine: sa.Engine, tmp_path: Path) -> None:
    def labels(*ids: int) -> dict:
        return {"labels": {"label": [{"id": i, "name": f"L{i}"} for i in ids]}}

    def load(month: str, **kwargs: object) -> None:
        load_month(engine, month=month, entity="labels",
                   parsed_dir=tmp_path / month / "labels", allow_shrink=True, **kwargs)

    def state() -> list[tuple]:
        return rows(engine, "SELECT id, first_seen_month, last_seen_month, removed_in_month "
                            "FROM label ORDER BY id")

    def view() -> list[tuple]:
        return rows(engine, "SELECT present, removed, last_seen_month FROM v_entity_counts "
                            "WHERE entity = 'labels'")

    for month, ids in (("2026-01", (1, 2, 3)), ("2026-02", (1, 2)), ("2026-03", (1, 2, 3)),
                       ("2026-04", (1,)), ("2026-05", (1, 2)), ("2026-06", ())):
        write_month(tmp_path, month, labels(*ids))
    load("2026-01")
    load("2026-02")
    assert state() == [(1, "2026-01", None, None), (2, "2026-01", None, None),
                       (3, "2026-01", "2026-01", "2026-02")]
    load("2026-03")  # 3 revived: present again, no month stored
    assert state()[2] == (3, "2026-01", None, None)
    load("2026-05")  # April skipped: 3 was last seen in March
    assert state()[2] == (3, "2026-01", "2026-03", "2026-05")
    assert view() == [(2, 1, "2026-05")]
    write_month(tmp_path, "2026-05", labels(1))
    load("2026-05")  # a rerun of May without 2: the first run of May saw it
    assert state()[1] == (2, "2026-01", "2026-05", "2026-05")
    load("2026-04")  # older than the current month: historical, changes nothing
    assert state()[1:] == [(2, "2026-01", "2026-05", "2026-05"),
                           (3, "2026-01", "2026-03", "2026-05")]
    load("2026-06")  # everything gone: the view falls back to the tombstones' last month
    assert state()[0] == (1, "2026-01", "2026-05", "2026-06")
    assert view() == [(0, 3, "2026-05")]


def _legacy_root_table(conn: sa.Connection, table: str) -> None:
    """The root table as models before this change made it: ``last_seen_month NOT NULL`` (and
    on PostgreSQL fillfactor 50)."""
    [model] = [m for m in list_models() if m.name == table]
    create = model_statements(model, conn.dialect.name)[0]
    legacy, found = re.subn(r"(last_seen_month\s+TEXT)", r"\1 NOT NULL", create)
    assert found == 1
    if conn.dialect.name == "postgresql":
        legacy += " WITH (fillfactor = 50)"
    conn.exec_driver_sql(legacy)


def test_a_warehouse_made_before_is_migrated_once(warehouse_url: str, tmp_path: Path) -> None:
    engine = make_engine(warehouse_url)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        for table in ROOTS:
            _legacy_root_table(conn, table)
    run_models(engine, names=["month_changes"])
    write_month(tmp_path, "2026-03", base_month())
    with engine.begin() as conn:  # what the old loads left: Jan and Feb applied
        for month in ("2026-01", "2026-02"):
            conn.execute(sa.text(
                "INSERT INTO month_changes (month, entity, historical, staged_rows, added, "
                "changed, removed, unchanged, revived, rows_written, seconds, runs, "
                "first_loaded_at, loaded_at) VALUES (:m, 'labels', false, 3, 3, 0, 0, 0, 0, 3, "
                "1.0, 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"), {"m": month})
        conn.execute(sa.text(
            "INSERT INTO label (id, name, content_hash, first_seen_month, last_seen_month, "
            "removed_in_month) VALUES (1, 'Planet E', 'x', '2026-01', '2026-02', NULL), "
            "(2, 'Sub Label', 'x', '2026-01', '2026-02', NULL), "
            "(3, 'Long Gone', 'x', '2026-01', '2026-01', '2026-02')"))
    run_models(engine)

    inspector = sa.inspect(engine)
    for table in ROOTS:
        nullable = {c["name"]: c["nullable"] for c in inspector.get_columns(table)}
        assert nullable["last_seen_month"], table
    assert rows(engine, "SELECT id, last_seen_month, removed_in_month FROM label ORDER BY id"
                ) == [(1, None, None), (2, None, None), (3, "2026-01", "2026-02")]
    assert rows(engine, "SELECT present, removed, last_seen_month FROM v_entity_counts "
                        "WHERE entity = 'labels'") == [(2, 1, "2026-02")]
    if pg:
        assert rows(engine, "SELECT reloptions FROM pg_class WHERE relname = 'label'"
                    ) == [(None,)]
    else:
        assert rows(engine, "PRAGMA integrity_check") == [("ok",)]
    run_models(engine)  # again: nothing left to do
    assert rows(engine, "SELECT id, last_seen_month FROM label ORDER BY id") == [
        (1, None), (2, None), (3, "2026-01")]
    # the next month loads as usual on the migrated table (the stored hashes are stand-ins,
    # so 1 and 2 count as changed; 3 is revived)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO hash_schemes (entity, scheme, recorded_at) "
                             "VALUES ('labels', :s, CURRENT_TIMESTAMP)"), {"s": HASH_SCHEME})
    mar = load_month(engine, month="2026-03", entity="labels",
                     parsed_dir=tmp_path / "2026-03" / "labels")
    assert (mar.changed, mar.revived) == (2, 1)
    assert rows(engine, "SELECT id, last_seen_month, removed_in_month FROM label ORDER BY id"
                ) == [(1, None, None), (2, None, None), (3, None, None)]
    engine.dispose()
