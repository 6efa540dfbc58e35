"""The SQL models in dbt_like_sql/: they match the table contract exactly, run in dependency
order on both databases, rerun safely, and the runner reports malformed models clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from discogs_assets.lib.tables import TABLES
from discogs_assets.lib.warehouse import list_models, make_engine, run_models
from discogs_assets.lib.warehouse.models import ModelError, model_statements, split_statements
from discogs_assets.lib.warehouse.schema import (
    RUNTIME_COLUMNS,
    STATE_COLUMNS,
    sql_type,
    warehouse_columns,
)

VIEWS = ("v_entity_counts", "v_failed_months", "v_month_health", "v_pending_months")


def declared_type(sql: str, dialect: str) -> str:
    return sql.replace("{{ json }}", "JSONB" if dialect == "postgresql" else "TEXT")


def test_tables_match_the_contract_exactly(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    run_models(engine)
    inspector = sa.inspect(engine)
    dialect = engine.dialect.name
    for spec in TABLES:
        cols = inspector.get_columns(spec.name)
        assert [c["name"] for c in cols] == warehouse_columns(spec), spec.name
        expected = {n: declared_type(sql_type(t), dialect) for n, t in spec.columns.items()}
        expected |= {n: STATE_COLUMNS.get(n, "TEXT") for n in warehouse_columns(spec)
                     if n not in spec.columns}
        assert {c["name"]: str(c["type"]) for c in cols} == expected, spec.name
        pk = inspector.get_pk_constraint(spec.name)["constrained_columns"]
        assert tuple(pk) == spec.unique_key, spec.name
        if spec.is_root:
            nullable = {c["name"]: c["nullable"] for c in cols}
            assert not nullable["content_hash"] and nullable["removed_in_month"]
            assert nullable["last_seen_month"]  # NULL while the record is present
    assert set(RUNTIME_COLUMNS) <= {t.name for t in TABLES if t.is_root}
    assert set(VIEWS) <= set(inspector.get_view_names())
    engine.dispose()


def test_models_rerun_safely_and_keep_data(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    run_models(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO feature_flags (name, enabled) VALUES ('x', true)"))
    runs = run_models(engine)
    assert [r.name for r in runs] == [m.name for m in list_models()]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT enabled FROM feature_flags")).scalar_one()
        for view in VIEWS:
            conn.execute(sa.text(f"SELECT * FROM {view}")).all()
    engine.dispose()


def test_track_title_index_is_opt_in_and_has_no_size_limit(pg_url: str) -> None:
    """Not built by default; with the option, plain exact title lookups use it, also for a
    title past a btree entry's limit."""
    engine = make_engine(pg_url)
    run_models(engine, names=["release", "release_track"])
    assert "release_track_title_idx" not in index_names(engine, "release_track")
    run_models(engine, names=["release", "release_track"], options={"track_title_index"})
    long_title = "Throw" * 1200
    lookup = "SELECT release_id FROM release_track WHERE title = :t"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO release_track (release_id, track_idx, title) "
                             "VALUES (1, 0, :t), (1, 1, 'Short')"), {"t": long_title})
        conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(conn.execute(sa.text(f"EXPLAIN {lookup}"), {"t": long_title}).scalars())
        assert "release_track_title_idx" in plan
        assert conn.execute(sa.text(lookup), {"t": long_title}).scalars().all() == [1]
    run_models(engine, names=["release_track"])  # the option off again: the index stays
    assert "release_track_title_idx" in index_names(engine, "release_track")
    with pytest.raises(ModelError, match="unknown model options: track_titles"):
        run_models(engine, options={"track_titles"})
    engine.dispose()


def index_names(engine: sa.Engine, table: str) -> set[str]:
    return {i["name"] for i in sa.inspect(engine).get_indexes(table)}


def test_dependency_order_and_contract_coverage() -> None:
    models = list_models()
    names = [m.name for m in models]
    assert len(names) == len(set(names))
    for index, model in enumerate(models):
        assert all(names.index(dep) < index for dep in model.depends_on), model.name
    assert {t.name for t in TABLES} | set(VIEWS) | {
        "discogs_data_processing", "feature_flags", "month_changes"} <= set(names)
    for spec in TABLES:
        if not spec.is_root:
            model = models[names.index(spec.name)]
            assert model.depends_on == (f"{spec.entity[:-1]}",), spec.name


def write(tmp: Path, name: str, text: str) -> None:
    (tmp / f"{name}.sql").write_text(text)


def test_runner_errors_name_the_file(tmp_path: Path) -> None:
    write(tmp_path, "a", "-- depends_on: b\nSELECT 1;\n")
    write(tmp_path, "b", "-- depends_on: a\nSELECT 1;\n")
    with pytest.raises(ModelError, match=r"dependency cycle a -> b -> a|b -> a -> b"):
        list_models(tmp_path)
    write(tmp_path, "b", "-- depends_on: missing\nSELECT 1;\n")
    with pytest.raises(ModelError, match=r"b\.sql: depends_on names unknown model 'missing'"):
        list_models(tmp_path)
    write(tmp_path, "b", "SELECT 1;\nCREATE TABLE t (x {{ jsonb }});\n")
    (tmp_path / "a.sql").unlink()
    [model] = list_models(tmp_path)
    with pytest.raises(ModelError, match=r"b\.sql: line 2: unknown placeholder \{\{ jsonb \}\}"):
        model_statements(model, "sqlite")


def test_only_if_statements(tmp_path: Path) -> None:
    write(tmp_path, "m", "CREATE TABLE t (a TEXT);\n"
                         "{{ only_if(track_title_index) }} CREATE INDEX i\n  ON t (a);\n")
    [model] = list_models(tmp_path)
    assert model_statements(model, "sqlite") == ["CREATE TABLE t (a TEXT)"]
    assert model_statements(model, "sqlite", {"track_title_index"}) == [
        "CREATE TABLE t (a TEXT)", "CREATE INDEX i\n  ON t (a)"]
    write(tmp_path, "m", "CREATE INDEX i ON t {{ only_if(track_title_index) }} (a);\n")
    with pytest.raises(ModelError, match="only_if must start a statement: 'CREATE INDEX i"):
        model_statements(model, "sqlite", {"track_title_index"})
    write(tmp_path, "m", "{{ only_if(nope) }} SELECT 1;\n")
    with pytest.raises(ModelError, match=r"m\.sql: line 1: only_if takes one of "
                                          r"track_title_index"):
        model_statements(model, "sqlite")


def test_rendering_per_dialect(tmp_path: Path) -> None:
    write(tmp_path, "m", "CREATE TABLE t (a {{ json }}, b {{ timestamp }}, c {{ bigint }});\n"
                         "CREATE INDEX i ON t {{ text_lookup_index(a) }};\n"
                         "SELECT {{ seconds_between(b, COALESCE(b, {{ now }})) }};")
    [model] = list_models(tmp_path)
    pg = model_statements(model, "postgresql")
    lite = model_statements(model, "sqlite")
    assert pg[0] == "CREATE TABLE t (a JSONB, b TIMESTAMPTZ, c BIGINT)"
    assert lite[0] == "CREATE TABLE t (a TEXT, b TEXT, c INTEGER)"
    assert pg[1] == "CREATE INDEX i ON t USING hash (a)" and lite[1] == "CREATE INDEX i ON t (a)"
    assert pg[2].startswith("SELECT EXTRACT(EPOCH FROM (COALESCE(b,")
    assert split_statements("SELECT ';'; -- a ; comment\nSELECT 2;") == [
        "SELECT ';'", "SELECT 2"]


def test_models_are_taken_literally_and_failures_name_the_file(
    warehouse_url: str, tmp_path: Path
) -> None:
    write(tmp_path, "pct", "DROP VIEW IF EXISTS v_pct;\n"
                           "CREATE VIEW v_pct AS SELECT 'a%b' AS x WHERE 'abc' LIKE 'a%';")
    engine = make_engine(warehouse_url)
    run_models(engine, models_dir=tmp_path)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT x FROM v_pct")).scalar_one() == "a%b"
    write(tmp_path, "pct", "CREATE TABLE broken (;")
    with pytest.raises(ModelError, match=r"pct\.sql: statement failed: 'CREATE TABLE broken \('"):
        run_models(engine, models_dir=tmp_path)
    engine.dispose()
