"""Identity CSV import: integer ids, validation with line numbers, one transaction, the
note-needs-flag CHECK, and the migration of warehouses whose identity ids are still TEXT."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from discogs_assets.cli import main
from discogs_assets.lib.caches import (
    IdentityIdsNotMigrated,
    IdentityImportError,
    import_identities,
    load_identities,
    migrate_identity_ids,
)
from discogs_assets.lib.caches.identities import Identity, read_identities_csv
from discogs_assets.lib.warehouse import make_engine, run_models

HEADER = "identity_id,source,external_id,active,discogs_unavailable,discogs_unavailable_note\n"


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(warehouse_url)
    run_models(engine)
    yield engine
    engine.dispose()


def write(tmp_path: Path, text: str, name: str = "identities.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_then_reimport_upserts(engine: sa.Engine, tmp_path: Path) -> None:
    first = write(tmp_path, HEADER + (
        "100,discogs_release,249504,true,false,\n"
        "20,discogs_master,33228,,,\n"
        '3,discogs_release,1,yes,yes,"false match, see ticket 12"\n'
        "1000,spotify_album,4aawyAB9vmqN3uQ7FjRGTy,0,no,\n"))
    report = import_identities(engine, first)
    assert (report.rows, report.inserted, report.updated, report.unchanged) == (4, 4, 0, 0)
    assert report.flagged == 1
    assert load_identities(engine, active_only=False) == [  # numeric order, not text order
        Identity(3, "discogs_release", "1", True, True, "false match, see ticket 12"),
        Identity(20, "discogs_master", "33228"),
        Identity(100, "discogs_release", "249504"),
        Identity(1000, "spotify_album", "4aawyAB9vmqN3uQ7FjRGTy", active=False),
    ]
    assert [i.identity_id for i in load_identities(engine)] == [3, 20, 100]

    # a BOM (spreadsheet export), a column subset, one change, one new row
    second = tmp_path / "again.csv"
    second.write_text("identity_id,source,external_id\n"
                      "100,discogs_release,249504\n20,discogs_master,99\n"
                      "5,bandcamp,https://x.bandcamp.com/album/y\n", encoding="utf-8-sig")
    report = import_identities(engine, second)
    assert (report.rows, report.inserted, report.updated, report.unchanged) == (3, 1, 1, 1)
    assert report.flagged == 0
    by_id = {i.identity_id: i for i in load_identities(engine, active_only=False)}
    assert by_id[20].external_id == "99"
    assert by_id[3].discogs_unavailable  # absent from the file: kept as it was


def test_bad_rows_are_all_reported_with_line_numbers_and_nothing_is_written(
        engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + (
        "1,discogs_release,5,true,false,\n"            # line 2
        "2,tidal,7,,,\n"                               # line 3
        '3,discogs_release,8,true,false,"a\n'          # line 4 (note spans two lines)
        'second line"\n'
        "4,discogs_release,-3,,,\n"                    # line 6
        ",discogs_release,9,,,\n"                      # line 7
        "6,discogs_master,10,maybe,,\n"                # line 8
        "1,discogs_release,11,,,\n"                    # line 9: repeats line 2
        "8,discogs_release,12,,,,surplus\n"            # line 10
        "lib-9,discogs_release,13,,,\n"                # line 11: not the service's integer id
        "1.5,discogs_release,14,,,\n"                  # line 12
        "0,discogs_release,15,,,\n"                    # line 13
        "9223372036854775808,discogs_release,16,,,\n"))  # line 14: beyond BIGINT
    with pytest.raises(IdentityImportError) as info:
        import_identities(engine, path)
    problems = info.value.problems
    not_integer = "is not a positive integer (the LML service's identity id)"
    assert problems == [
        "line 3: source 'tidal' is not one of discogs_release, discogs_master, "
        "musicbrainz_release, spotify_album, apple_music_album, bandcamp",
        "line 4: discogs_unavailable_note is set but discogs_unavailable is not",
        "line 6: external_id '-3' is not a positive Discogs id",
        "line 7: identity_id is empty",
        "line 8: active 'maybe' is not a boolean (true/false, yes/no, 1/0)",
        "line 9: identity_id 1 repeats line 2",
        "line 10: 1 value(s) beyond the header",
        f"line 11: identity_id 'lib-9' {not_integer}",
        f"line 12: identity_id '1.5' {not_integer}",
        f"line 13: identity_id '0' {not_integer}",
        f"line 14: identity_id '9223372036854775808' {not_integer}",
    ]
    assert str(info.value).startswith("identities.csv: 11 invalid row(s), nothing imported")
    assert load_identities(engine, active_only=False) == []


@pytest.mark.parametrize(("content", "expected"), [
    ("identity_id,source\nx,bandcamp\n", "missing: ['external_id']"),
    ("identity_id,source,external_id,colour\n", "unknown: ['colour']"),
    (b"identity_id,source,external_id\nx,bandcamp,caf\xe9\n",
     "line 2: not UTF-8 at byte offset 45"),
])
def test_unreadable_files_are_refused(tmp_path: Path, content: str | bytes,
                                      expected: str) -> None:
    path = tmp_path / "ids.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(IdentityImportError, match=re.escape(expected)):
        read_identities_csv(path)


def test_database_refuses_a_note_without_the_flag(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO identity (identity_id, source, external_id, active, discogs_unavailable,"
            " discogs_unavailable_note) VALUES (1, 'discogs_release', '1', :t, :f, 'why')"),
            {"t": True, "f": False})


def test_cli_import_reports_bad_rows_and_imports_good_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    bad = write(tmp_path, HEADER + "7,discogs_release,12,,,\nx7,discogs_release,12,,,\n",
                "bad.csv")
    assert main(["identities", "import", str(bad), "--warehouse-url", url]) == 2
    assert "bad.csv: 1 invalid row(s), nothing imported:\n  line 3: identity_id 'x7' is not " \
           "a positive integer" in capsys.readouterr().err
    good = write(tmp_path, HEADER + "7,discogs_release,12,,,\n", "good.csv")
    assert main(["identities", "import", str(good), "--warehouse-url", url]) == 0
    assert "inserted=1" in capsys.readouterr().out
    engine = make_engine(url)
    assert [i.identity_id for i in load_identities(engine)] == [7]
    engine.dispose()


OLD_IDENTITY_DDL = """CREATE TABLE identity (
    identity_id TEXT PRIMARY KEY, source TEXT NOT NULL, external_id TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE, discogs_unavailable BOOLEAN NOT NULL DEFAULT FALSE,
    discogs_unavailable_note TEXT, imported_at TEXT, warm_outcome TEXT, warm_message TEXT,
    warm_month TEXT, warmed_at TEXT,
    CONSTRAINT identity_note_needs_flag
        CHECK (discogs_unavailable_note IS NULL OR discogs_unavailable))"""


@pytest.fixture
def text_id_engine(warehouse_url: str) -> Iterator[sa.Engine]:
    """A warehouse created before identity ids were integers (the table as it was then)."""
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:
        conn.execute(sa.text(OLD_IDENTITY_DDL))
        conn.execute(sa.text("CREATE INDEX identity_source_external_id "
                             "ON identity (source, external_id)"))
        conn.execute(sa.text(
            "INSERT INTO identity (identity_id, source, external_id, warm_outcome) VALUES "
            "('10', 'discogs_release', '5', 'warmed'), ('9', 'discogs_master', '6', NULL), "
            "('100', 'bandcamp', 'x', 'not_implemented')"))
    run_models(engine)  # leaves the existing table as it is (CREATE ... IF NOT EXISTS)
    yield engine
    engine.dispose()


def test_text_ids_are_refused_until_migrated(text_id_engine: sa.Engine, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(IdentityIdsNotMigrated, match="identities migrate-ids"):
        load_identities(text_id_engine)
    url = text_id_engine.url.render_as_string(hide_password=False)
    assert main(["identities", "migrate-ids", "--warehouse-url", url]) == 0
    assert "converted to an integer (3 identities)" in capsys.readouterr().out
    assert [(i.identity_id, i.source) for i in load_identities(text_id_engine)] == [
        (9, "discogs_master"), (10, "discogs_release"), (100, "bandcamp")]
    with text_id_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT warm_outcome FROM identity WHERE identity_id = 10")
                            ).scalar_one() == "warmed"
    # the table is the model's now: its CHECK and index came back with it
    with pytest.raises(sa.exc.IntegrityError), text_id_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO identity (identity_id, source, external_id, "
                             "discogs_unavailable, discogs_unavailable_note) "
                             "VALUES (1, 'bandcamp', 'y', :f, 'why')"), {"f": False})
    assert "identity_source_external_id" in {
        i["name"] for i in sa.inspect(text_id_engine).get_indexes("identity")}
    assert migrate_identity_ids(text_id_engine).already_integer


def test_migration_refuses_ids_that_are_not_integers(text_id_engine: sa.Engine) -> None:
    with text_id_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO identity (identity_id, source, external_id) VALUES "
                             "('lib-7', 'bandcamp', 'z'), ('010', 'bandcamp', 'w')"))
    with pytest.raises(IdentityIdsNotMigrated) as info:
        migrate_identity_ids(text_id_engine)
    assert "2 identity id(s) cannot become integers" in str(info.value)
    assert "identity_id 'lib-7' is not a positive integer" in str(info.value)
    assert "identity_id '10' and '010' are both 10" in str(info.value)
    with pytest.raises(IdentityIdsNotMigrated, match="is TEXT"):  # nothing changed
        load_identities(text_id_engine)
