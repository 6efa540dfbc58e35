"""Identity CSV import: validation with line numbers, one transaction, the note-needs-flag CHECK."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from discogs_assets.cli import main
from discogs_assets.lib.caches import IdentityImportError, import_identities, load_identities
from discogs_assets.lib.caches.identities import Identity, read_identities_csv
from discogs_assets.lib.warehouse import make_engine, run_models

HEADER = "identity_id,source,external_id,active,discogs_unavailable,discogs_unavailable_note\n"


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(warehouse_url)
    run_models(engine, ["identity"])
    yield engine
    engine.dispose()


def write(tmp_path: Path, text: str, name: str = "identities.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_then_reimport_upserts(engine: sa.Engine, tmp_path: Path) -> None:
    first = write(tmp_path, HEADER + (
        "lib-1,discogs_release,249504,true,false,\n"
        "lib-2,discogs_master,33228,,,\n"
        'lib-3,discogs_release,1,yes,yes,"false match, see ticket 12"\n'
        "rot-4,spotify_album,4aawyAB9vmqN3uQ7FjRGTy,0,no,\n"))
    report = import_identities(engine, first)
    assert (report.rows, report.inserted, report.updated, report.unchanged) == (4, 4, 0, 0)
    assert load_identities(engine, active_only=False) == [
        Identity("lib-1", "discogs_release", "249504"),
        Identity("lib-2", "discogs_master", "33228"),
        Identity("lib-3", "discogs_release", "1", True, True, "false match, see ticket 12"),
        Identity("rot-4", "spotify_album", "4aawyAB9vmqN3uQ7FjRGTy", active=False),
    ]
    assert [i.identity_id for i in load_identities(engine)] == ["lib-1", "lib-2", "lib-3"]

    # a BOM (spreadsheet export), a column subset, one change, one new row
    second = tmp_path / "again.csv"
    second.write_text("identity_id,source,external_id\n"
                      "lib-1,discogs_release,249504\nlib-2,discogs_master,99\n"
                      "lib-5,bandcamp,https://x.bandcamp.com/album/y\n", encoding="utf-8-sig")
    report = import_identities(engine, second)
    assert (report.rows, report.inserted, report.updated, report.unchanged) == (3, 1, 1, 1)
    by_id = {i.identity_id: i for i in load_identities(engine, active_only=False)}
    assert by_id["lib-2"].external_id == "99"
    assert by_id["lib-3"].discogs_unavailable  # absent from the file: kept as it was


def test_bad_rows_are_all_reported_with_line_numbers_and_nothing_is_written(
        engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + (
        "ok-1,discogs_release,5,true,false,\n"          # line 2
        "bad-src,tidal,7,,,\n"                          # line 3
        'bad-note,discogs_release,8,true,false,"a\n'    # line 4 (note spans two lines)
        'second line"\n'
        "bad-id,discogs_release,-3,,,\n"                # line 6
        ",discogs_release,9,,,\n"                       # line 7
        "bad-bool,discogs_master,10,maybe,,\n"          # line 8
        "ok-1,discogs_release,11,,,\n"                  # line 9: repeats line 2
        "extra,discogs_release,12,,,,surplus\n"))       # line 10
    with pytest.raises(IdentityImportError) as info:
        import_identities(engine, path)
    problems = info.value.problems
    assert problems == [
        "line 3: source 'tidal' is not one of discogs_release, discogs_master, "
        "musicbrainz_release, spotify_album, apple_music_album, bandcamp",
        "line 4: discogs_unavailable_note is set but discogs_unavailable is not",
        "line 6: external_id '-3' is not a positive Discogs id",
        "line 7: identity_id is empty",
        "line 8: active 'maybe' is not a boolean (true/false, yes/no, 1/0)",
        "line 9: identity_id 'ok-1' repeats line 2",
        "line 10: 1 value(s) beyond the header",
    ]
    assert str(info.value).startswith("identities.csv: 7 invalid row(s), nothing imported")
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
            " discogs_unavailable_note) VALUES ('x', 'discogs_release', '1', :t, :f, 'why')"),
            {"t": True, "f": False})


def test_cli_import_reports_bad_rows_and_imports_good_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    bad = write(tmp_path, HEADER + "x,discogs_release,abc,,,\n", "bad.csv")
    assert main(["identities", "import", str(bad), "--warehouse-url", url]) == 2
    assert "bad.csv: 1 invalid row(s), nothing imported:\n  line 2: external_id 'abc' is not " \
           "a positive Discogs id" in capsys.readouterr().err
    good = write(tmp_path, HEADER + "x,discogs_release,12,,,\n", "good.csv")
    assert main(["identities", "import", str(good), "--warehouse-url", url]) == 0
    assert "inserted=1" in capsys.readouterr().out
    engine = make_engine(url)
    assert [i.identity_id for i in load_identities(engine)] == ["x"]
    engine.dispose()
