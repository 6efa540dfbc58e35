"""Local warm on the real 2020-08 sample dumps loaded into the warehouse (SQLite and PostgreSQL).

The documents are checked against the sample XML itself (an oracle independent of the parser
and the document builder) and the counters against SQL counts over the warehouse tables.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from caches_helpers import ListLog
from lxml import etree

from discogs_assets.cli import main
from discogs_assets.lib.caches import (
    IdentityNotFound,
    flag_identity,
    import_identities,
    warm_local,
)
from discogs_assets.lib.caches.documents import CACHE_TABLES
from discogs_assets.lib.parsing import parse_dump
from discogs_assets.lib.tables import ENTITIES
from discogs_assets.lib.warehouse import load_month, make_engine, run_models

SAMPLES = "philipmat_discogs-xml2db"
MONTH = "2020-08"
IDENTITIES = """identity_id,source,external_id,active,discogs_unavailable,discogs_unavailable_note
1,discogs_release,10,true,false,
2,discogs_release,6,,,
3,discogs_release,4497890,,,
4,discogs_master,129684,,,
5,discogs_release,10,,,
6,discogs_release,999999999,,,
7,spotify_album,4aawyAB9vmqN3uQ7FjRGTy,,,
8,discogs_release,2,true,true,matched the wrong pressing
9,discogs_release,3,false,false,
"""
# 1 and 5 share release 10; 3 has sub-tracks; 4's master has main release 1586374; 6 is gone;
# 8 is flagged, 9 inactive
WARMED_RELEASES = {10, 6, 4497890, 1586374}  # 1586374 is the main release of master 129684


@pytest.fixture(scope="session")
def parsed(sample_dumps: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parsed")
    for entity in ENTITIES:
        parse_dump(sample_dumps / SAMPLES / f"discogs_20200806_{entity}.xml.gz", out / entity,
                   workers=0)
    return out


@pytest.fixture
def engine(warehouse_url: str, parsed: Path, tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(warehouse_url)
    run_models(engine)
    for entity in ENTITIES:
        load_month(engine, month=MONTH, entity=entity, parsed_dir=parsed / entity)
    csv = tmp_path / "identities.csv"
    csv.write_text(IDENTITIES)
    import_identities(engine, csv)
    yield engine
    engine.dispose()


def cached(engine: sa.Engine, kind: str) -> dict[int, dict[str, Any]]:
    table, key = CACHE_TABLES[kind]
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT {key}, document FROM {table}"))
        return {k: json.loads(d) if isinstance(d, str) else d for k, d in rows}


def column(engine: sa.Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text(sql), params)]


# --- an oracle read straight from the sample XML -------------------------------------------

def xml_records(path: Path, tag: str, ids: set[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    with gzip.open(path) as fh:
        for _, el in etree.iterparse(fh, tag=tag, resolve_entities=False, no_network=True):
            rid = int(el.get("id") or el.findtext("id"))
            if rid in ids:
                found[rid] = el
            else:
                el.clear()
    return found


def n(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def expected_release(el: Any) -> dict[str, Any]:
    def track(t: Any) -> tuple[Any, ...]:
        return (n(t.findtext("position")), n(t.findtext("title")),
                [n(a.findtext("name")) for a in t.findall("artists/artist")],
                [track(s) for s in t.findall("sub_tracks/track")])

    return {
        "title": n(el.findtext("title")),
        "artists": [(n(a.findtext("name")), n(a.findtext("join"))) for a in
                    el.findall("artists/artist")],
        "extraartists": [(n(a.findtext("name")), n(a.findtext("role"))) for a in
                         el.findall("extraartists/artist")],
        "labels": [(n(x.get("name")), n(x.get("catno"))) for x in el.findall("labels/label")],
        "formats": [(n(f.get("name")), [d.text for d in f.findall("descriptions/description")])
                    for f in el.findall("formats/format")],
        "genres": [g.text for g in el.findall("genres/genre")],
        "styles": [s.text for s in el.findall("styles/style")],
        "tracklist": [track(t) for t in el.findall("tracklist/track")],
        "identifiers": [(n(i.get("type")), n(i.get("value")))
                        for i in el.findall("identifiers/identifier")],
        "master_id": int(el.findtext("master_id") or 0) or None,
    }


def actual_release(doc: dict[str, Any]) -> dict[str, Any]:
    def track(t: dict[str, Any]) -> tuple[Any, ...]:
        return (t["position"], t["title"], [a["name"] for a in t["artists"]],
                [track(s) for s in t["sub_tracks"]])

    return {
        "title": doc["title"],
        "artists": [(a["name"], a["join"]) for a in doc["artists"]],
        "extraartists": [(a["name"], a["role"]) for a in doc["extraartists"]],
        "labels": [(x["name"], x["catno"]) for x in doc["labels"]],
        "formats": [(f["name"], f["descriptions"] or []) for f in doc["formats"]],
        "genres": doc["genres"],
        "styles": doc["styles"],
        "tracklist": [track(t) for t in doc["tracklist"]],
        "identifiers": [(i["type"], i["value"]) for i in doc["identifiers"]],
        "master_id": doc["master"]["id"] if doc["master"] else None,
    }


def expected_artist(el: Any) -> dict[str, Any]:
    return {"name": n(el.findtext("name")), "profile": el.findtext("profile") or None,
            "aliases": [(int(x.get("id")), x.text) for x in el.findall("aliases/name")],
            "members": [(int(x.get("id")), x.text) for x in el.findall("members/name")],
            "groups": [(int(x.get("id")), x.text) for x in el.findall("groups/name")]}


def actual_artist(doc: dict[str, Any]) -> dict[str, Any]:
    return {"name": doc["name"], "profile": doc["profile"],
            **{k: [(x["id"], x["name"]) for x in doc[k]] for k in ("aliases", "members",
                                                                 "groups")}}


# --- tests ----------------------------------------------------------------------------------

CREDITED_IN_WAREHOUSE = """
SELECT DISTINCT a.id FROM artist a WHERE a.removed_in_month IS NULL AND a.id IN (
    SELECT artist_id FROM release_artist WHERE release_id = :rid
    UNION SELECT artist_id FROM release_track_artist WHERE release_id = :rid)
"""


def test_local_warm_on_sample_data(engine: sa.Engine, sample_dumps: Path) -> None:
    warm = warm_local(engine, MONTH, log := ListLog())
    counters = warm.counters

    credited = {rid: set(column(engine, CREDITED_IN_WAREHOUSE, rid=rid))
                for rid in WARMED_RELEASES}
    per_identity = [credited[10], credited[6], credited[4497890], credited[1586374],
                    credited[10]]
    assert counters.as_metadata() == {
        "local.identities_scanned": 7,  # neither the flagged nor the inactive identity
        "local.identities_resolved": 7,
        "local.warmed_releases": 5,
        "local.warmed_artists": sum(len(c) for c in per_identity),
        "local.not_found": 1,
        "local.not_implemented": 1,
        "local.error": 0,
    }
    assert warm.skipped_discogs_unavailable == 1
    assert counters.warmed_artists > 5  # the sample really exercises artist documents

    releases = cached(engine, "release")
    assert set(releases) == WARMED_RELEASES  # nothing for the flagged (2) or inactive (3) ones
    assert set(cached(engine, "master")) == {129684}
    artists = cached(engine, "artist")
    assert set(artists) == set().union(*credited.values())

    xml_dir = sample_dumps / SAMPLES
    oracle = xml_records(xml_dir / "discogs_20200806_releases.xml.gz", "release",
                         WARMED_RELEASES)
    for rid in WARMED_RELEASES:
        assert actual_release(releases[rid]) == expected_release(oracle[rid]), rid
    subtracks = releases[4497890]["tracklist"]
    assert sum(len(t["sub_tracks"]) for t in subtracks) == 2
    a_oracle = xml_records(xml_dir / "discogs_20200806_artists.xml.gz", "artist", set(artists))
    for aid, doc in artists.items():
        assert actual_artist(doc) == expected_artist(a_oracle[aid]), aid

    outcomes = dict(zip(
        column(engine, "SELECT identity_id FROM identity ORDER BY identity_id"),
        column(engine, "SELECT warm_outcome FROM identity ORDER BY identity_id"), strict=True))
    assert outcomes == {1: "warmed", 2: "warmed", 3: "warmed", 4: "warmed", 5: "warmed",
                        6: "not_found", 7: "not_implemented", 8: "skipped_discogs_unavailable",
                        9: None}
    assert "not_found" in log.text()


def test_changed_content_is_rewritten_and_unchanged_is_not(engine: sa.Engine) -> None:
    first = warm_local(engine, MONTH, ListLog())
    assert first.documents["cache_release_inserted"] == 4
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE cache_release SET artwork_url = 'https://img/x.jpg', "
                             "app_notes = 'kept' WHERE release_id IN (6, 10)"))
    built = dict(zip(column(engine, "SELECT release_id FROM cache_release ORDER BY 1"),
                     column(engine, "SELECT built_at FROM cache_release ORDER BY release_id"),
                     strict=True))

    second = warm_local(engine, "2020-09", ListLog())
    assert second.documents["cache_release_unchanged"] == 4
    assert second.documents["cache_release_rewritten"] == 0
    assert second.documents["cache_artist_rewritten"] == 0

    with engine.begin() as conn:  # the next month changes one release and removes another
        conn.execute(sa.text("UPDATE release SET title = 'You Are Love (Remastered)' "
                             "WHERE id = 10"))
        conn.execute(sa.text("UPDATE release SET removed_in_month = '2020-10' WHERE id = 6"))
    third = warm_local(engine, "2020-10", ListLog())
    assert third.documents["cache_release_rewritten"] == 1
    assert third.documents["cache_release_unchanged"] == 2
    assert column(engine, "SELECT warm_outcome FROM identity WHERE identity_id = 2") == [
        "not_found"]
    assert third.counters.not_found == 2

    after = dict(zip(column(engine, "SELECT release_id FROM cache_release ORDER BY 1"),
                     column(engine, "SELECT built_at FROM cache_release ORDER BY release_id"),
                     strict=True))
    assert after[10] != built[10]
    assert {k: v for k, v in after.items() if k != 10} == {k: v for k, v in built.items()
                                                           if k != 10}
    assert cached(engine, "release")[10]["title"] == "You Are Love (Remastered)"
    assert column(engine, "SELECT source_month FROM cache_release WHERE release_id = 10") == [
        "2020-10"]
    # runtime columns survive the rewrite; the removed release's document is left as it was
    assert column(engine, "SELECT artwork_url || ' ' || app_notes FROM cache_release "
                          "WHERE release_id IN (6, 10) ORDER BY release_id") == [
        "https://img/x.jpg kept", "https://img/x.jpg kept"]


def test_bad_record_marks_only_its_identity_as_error(tmp_path: Path, parsed: Path) -> None:
    """SQLite only: PostgreSQL's JSONB column cannot even hold the broken value."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    run_models(engine)
    for entity in ENTITIES:
        load_month(engine, month=MONTH, entity=entity, parsed_dir=parsed / entity)
    csv = tmp_path / "identities.csv"
    csv.write_text(IDENTITIES)
    import_identities(engine, csv)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE release_format SET descriptions = '[\"LP\", ' "
                             "WHERE release_id = 6"))
    counters = warm_local(engine, MONTH, log := ListLog(), chunk_size=3).counters
    assert (counters.error, counters.identities_resolved) == (1, 6)
    assert counters.warmed_releases == 4
    assert set(cached(engine, "release")) == WARMED_RELEASES - {6}
    assert "identity 2 failed: discogs_release 6: JSONDecodeError" in log.text()
    assert column(engine, "SELECT warm_outcome FROM identity WHERE identity_id = 2") == [
        "error"]
    engine.dispose()


MASTER_CREDITED = """
SELECT DISTINCT a.id FROM artist a WHERE a.removed_in_month IS NULL AND a.id IN (
    SELECT artist_id FROM master_artist WHERE master_id = :mid)
"""


def test_flagging_purges_the_documents_no_unflagged_identity_uses(
        engine: sa.Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warm_local(engine, MONTH, ListLog())
    credited = {rid: set(column(engine, CREDITED_IN_WAREHOUSE, rid=rid))
                for rid in WARMED_RELEASES}
    master_credited = set(column(engine, MASTER_CREDITED, mid=129684))
    # identity 2 (release 6): its release and the artists only it credits go
    others = credited[10] | credited[4497890] | credited[1586374] | master_credited
    url = engine.url.render_as_string(hide_password=False)
    assert main(["identities", "flag", "2", "--note", "matched the wrong pressing",
                 "--warehouse-url", url]) == 0
    only_6 = credited[6] - others
    assert only_6, "the sample must give release 6 artists of its own"
    assert (f"identity 2 flagged discogs_unavailable; purged cache_release=1 cache_master=0 "
            f"cache_artist={len(only_6)}") in capsys.readouterr().out
    assert 6 not in cached(engine, "release")
    artists = set(cached(engine, "artist"))
    assert not artists & only_6 and credited[6] & others <= artists
    assert column(engine, "SELECT warm_outcome || ' ' || discogs_unavailable_note FROM identity "
                          "WHERE identity_id = 2") == [
        "skipped_discogs_unavailable matched the wrong pressing"]

    # identity 1 shares release 10 with identity 5: flagging it deletes nothing
    counts = flag_identity(engine, 1, None)
    assert (counts.identities, counts.total) == (1, 0)
    assert 10 in cached(engine, "release")
    assert flag_identity(engine, 2, None).total == 0  # again: the note stays, nothing left
    assert column(engine, "SELECT discogs_unavailable_note FROM identity "
                          "WHERE identity_id = 2") == ["matched the wrong pressing"]
    with pytest.raises(IdentityNotFound, match="identity 424242 is not in the warehouse"):
        flag_identity(engine, 424242, "x")

    # a master identity flagged by import: the master, its main release and their own artists
    csv = tmp_path / "flag.csv"
    csv.write_text("identity_id,source,external_id,discogs_unavailable\n"
                   "4,discogs_master,129684,true\n")
    report = import_identities(engine, csv)
    unflagged = credited[10] | credited[4497890]
    only_master = (master_credited | credited[1586374]) - unflagged
    assert (report.flagged, report.purged.cache_master, report.purged.cache_release,
            report.purged.cache_artist) == (1, 1, 1, len(only_master))
    assert set(cached(engine, "release")) == {10, 4497890}
    assert set(cached(engine, "master")) == set()
    assert set(cached(engine, "artist")) == unflagged

    # the next warm writes nothing back for them
    again = warm_local(engine, "2020-09", ListLog())
    assert again.skipped_discogs_unavailable == 4  # 8 (from the start), 2, 1 and 4
    assert set(cached(engine, "release")) == {10, 4497890}
    assert set(cached(engine, "artist")) == unflagged
