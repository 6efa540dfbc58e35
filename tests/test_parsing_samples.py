"""The real sample dumps: row counts, field-by-field records, engine and worker agreement."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from parsing_helpers import SAMPLES, etree_counts, parse_both, parse_to_frames, read_tables

from discogs_assets.lib.parsing import detect_entity, parse_dump, writer
from discogs_assets.lib.parsing.schemas import validate_table
from discogs_assets.lib.tables import tables_for

SAMPLE_FILES = (
    "discogs_20200806_labels.xml.gz", "discogs_20200806_artists.xml.gz",
    "discogs_20200806_masters.xml.gz", "discogs_20200806_releases.xml.gz",
    "release.xml", "release_4497890.xml", "label.xml", "artist_problems.xml",
    "discogs_20260201_masters.xml",
)


def _sample(sample_dumps: Path, name: str) -> Path:
    return sample_dumps / SAMPLES / name


@pytest.fixture(scope="module")
def parsed(sample_dumps: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> dict[str, dict[str, pl.DataFrame]]:
    """Every sample parsed by both engines (asserting they agree row for row)."""
    out = tmp_path_factory.mktemp("samples")
    return {name: parse_both(_sample(sample_dumps, name), out / name) for name in SAMPLE_FILES}


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_row_counts_match_an_independent_elementtree_count(
        parsed: dict[str, dict[str, pl.DataFrame]], sample_dumps: Path, name: str) -> None:
    expected = etree_counts(_sample(sample_dumps, name))
    frames = parsed[name]
    for table, frame in frames.items():
        assert frame.height == expected[table], table
        validate_table(table, frame)


def test_releases_sample_counts_from_the_readme(parsed: dict[str, dict[str, pl.DataFrame]]
                                                ) -> None:
    f = parsed["discogs_20200806_releases.xml.gz"]
    assert f["release"].height == 1000
    assert f["release_track"].height == 9430
    assert f["release_track"]["parent_idx"].drop_nulls().n_unique() > 0
    heading_count = f["release_track"].filter(pl.col("parent_idx").is_not_null()).select(
        "release_id", "parent_idx").unique().height
    assert heading_count == 57  # 57 <sub_tracks> elements, one per heading
    assert f["release_artist"].height == 5053
    assert f["release_track_artist"].height == 6721
    assert f["release_identifier"].height == 1672
    assert f["release"]["master_id"].null_count() == 385
    unlinked = f["release_artist"].filter(pl.col("artist_id").is_null()).height + f[
        "release_track_artist"].filter(pl.col("artist_id").is_null()).height
    assert unlinked == 20  # <id>0</id> credits become null, never 0
    for name in ("discogs_20200806_labels.xml.gz", "discogs_20200806_artists.xml.gz",
                 "discogs_20200806_masters.xml.gz"):
        root = next(iter(parsed[name].values()))
        assert root.height == 1000


def _row(frame: pl.DataFrame, **where: object) -> dict[str, object]:
    rows = frame.filter(**where).to_dicts()
    assert len(rows) == 1, (where, rows)
    return rows[0]


def test_release_1_field_by_field(parsed: dict[str, dict[str, pl.DataFrame]]) -> None:
    f = parsed["discogs_20200806_releases.xml.gz"]
    assert _row(f["release"], id=1) == {
        "id": 1, "status": "Accepted", "title": "Stockholm", "country": "Sweden",
        "released": "1999-03-00", "notes": _row(f["release"], id=1)["notes"],
        "data_quality": "Needs Vote", "master_id": 1660109, "is_main_release": True}
    assert _row(f["release"], id=1)["notes"].startswith("The song titles are the names")
    artists = f["release_artist"].filter(release_id=1).to_dicts()
    assert artists == [
        {"release_id": 1, "position": 0, "extra": False, "artist_id": 1,
         "name": "The Persuader", "anv": None, "join": None, "role": None, "tracks": None},
        {"release_id": 1, "position": 0, "extra": True, "artist_id": 239,
         "name": "Jesper Dahlbäck", "anv": None, "join": None,
         "role": "Music By [All Tracks By]", "tracks": None}]
    assert f["release_label"].filter(release_id=1).to_dicts() == [
        {"release_id": 1, "position": 0, "label_id": 5, "name": "Svek", "catno": "SK032"}]
    assert f["release_format"].filter(release_id=1).to_dicts() == [
        {"release_id": 1, "position": 0, "name": "Vinyl", "qty": "2", "text": None,
         "descriptions": ['12"', "33 ⅓ RPM"]}]
    tracks = f["release_track"].filter(release_id=1)
    assert tracks["position"].to_list() == ["A", "B1", "B2", "C1", "C2", "D"]
    assert tracks["track_idx"].to_list() == list(range(6))
    assert _row(tracks, track_idx=0)["title"] == "Östermalm"
    assert _row(tracks, track_idx=0)["duration"] == "4:45"
    assert f["release_identifier"].filter(release_id=1).height == 5
    video = _row(f["release_video"], release_id=1, position=0)
    assert (video["src"], video["duration"], video["embed"], video["title"]) == (
        "https://www.youtube.com/watch?v=MpmbntGDyNE", 296, True, "The Persuader - Östermalm")
    assert "\r" in video["description"]  # &#13; survives as a carriage return
    assert _row(f["release_company"], release_id=1, position=0) == {
        "release_id": 1, "position": 0, "company_id": 271046, "name": "The Globe Studios",
        "catno": None, "entity_type": 23, "entity_type_name": "Recorded At",
        "resource_url": "https://api.discogs.com/labels/271046"}


def test_bare_release_with_sub_tracks(parsed: dict[str, dict[str, pl.DataFrame]]) -> None:
    f = parsed["release.xml"]
    assert _row(f["release"], id=3)["master_id"] == 66526
    assert _row(f["release"], id=3)["is_main_release"] is False
    tracks = f["release_track"].sort("track_idx")
    assert tracks.head(5).select("track_idx", "parent_idx", "position", "title").rows() == [
        (0, None, "1", "Untitled 8"), (1, 0, "11.a", "909 Shuffle"),
        (2, 0, "11.b", "Laser 101 Rmx"), (3, 0, "11.c", "Adrenalin (Ciborg Rmx)"),
        (4, None, "2", tracks["title"][4])]
    credits = f["release_track_artist"].filter(track_idx=0)
    assert credits.select("position", "extra", "artist_id", "name", "role").rows() == [
        (0, False, 5, "Heiko Laux", None), (1, False, 4, "Johannes Heil", None),
        (0, True, 11233, "Chris Lum", "Producer")]


def test_pretty_printed_release_with_headings(parsed: dict[str, dict[str, pl.DataFrame]]
                                              ) -> None:
    tracks = parsed["release_4497890.xml"]["release_track"]
    headings = set(tracks["parent_idx"].drop_nulls().to_list())
    assert headings and all(
        _row(tracks, track_idx=h)["position"] is None for h in headings)  # <position/>


def test_artists_members_and_labels(parsed: dict[str, dict[str, pl.DataFrame]]) -> None:
    artists = parsed["discogs_20200806_artists.xml.gz"]
    assert artists["artist_member"].filter(artist_id=2).select(
        "position", "member_id", "name").rows() == [(0, 26, "Alexi Delano"),
                                                    (1, 27, "Cari Lekebusch")]
    assert _row(artists["artist"], id=1)["realname"] == "Jesper Dahlbäck"
    assert _row(artists["artist"], id=1)["profile"] is None  # <profile/>
    label = parsed["label.xml"]
    assert _row(label["label"], id=1)["name"] == "Planet E"
    assert label["label_sublabel"].select("sublabel_id", "name").rows()[:2] == [
        (86537, "Antidote (4)"), (41841, "Community Projects")]
    assert label["label_url"].height == 13
    labels = parsed["discogs_20200806_labels.xml.gz"]["label"]
    assert labels.filter(pl.col("parent_label_id").is_not_null()).height > 0
    problems = parsed["artist_problems.xml"]["artist"]
    assert _row(problems, id=11037)["realname"].startswith("M. Marsico, L. Macchiaizzano\r")


def test_empty_urls_of_the_real_labels_sample_give_no_rows(
        parsed: dict[str, dict[str, pl.DataFrame]], sample_dumps: Path) -> None:
    """The 2020 labels sample holds two ``<url/>``: they used to become rows with a null url."""
    path = _sample(sample_dumps, "discogs_20200806_labels.xml.gz")
    urls = ET.fromstring(gzip.decompress(path.read_bytes())).findall("label/urls/url")
    empty = [u for u in urls if not u.text]
    assert len(empty) == 2
    label_url = parsed["discogs_20200806_labels.xml.gz"]["label_url"]
    assert label_url.height == len(urls) - 2
    assert label_url["url"].null_count() == 0
    positions = label_url.group_by("label_id").agg(
        ok=pl.col("position").sort() == pl.int_range(pl.len()))
    assert positions["ok"].list.all().all()  # 0, 1, 2, … per label: no gaps


def test_2026_masters(parsed: dict[str, dict[str, pl.DataFrame]]) -> None:
    f = parsed["discogs_20260201_masters.xml"]
    assert _row(f["master"], id=392818) == {
        "id": 392818, "title": "Kulkurin Taival (Kaikki Levytykset 1946-1979)", "year": 2008,
        "main_release_id": 1946857, "notes": None, "data_quality": "Correct"}
    assert _row(f["master_artist"], master_id=2280259)["anv"] == "Bach"
    assert _row(f["master_artist"], master_id=392818)["join"] == ","
    assert f["master_genre"].filter(master_id=392818)["genre"].to_list() == [
        "Rock", "Pop", "Children's", "Folk, World, & Country"]


def test_detect_entity(sample_dumps: Path) -> None:
    assert detect_entity(_sample(sample_dumps, "discogs_20200806_labels.xml.gz")) == "labels"
    assert detect_entity(_sample(sample_dumps, "release.xml")) == "releases"
    assert detect_entity(_sample(sample_dumps, "artist_problems.xml")) == "artists"


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.parquet"))}


@pytest.mark.parametrize("name", [n for n in SAMPLE_FILES if n.startswith("discogs_2020")])
def test_output_is_byte_identical_for_0_to_3_workers(
        sample_dumps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Workers write their own chunks' tables, in whatever order they finish: the files must
    not show it. Small chunks and a small flush size make many chunks and row groups."""
    monkeypatch.setattr(writer, "FLUSH_BYTES", 64 << 10)
    path = _sample(sample_dumps, name)
    files = {}
    for workers in (0, 1, 2, 3):
        result = parse_dump(path, tmp_path / str(workers), workers=workers, chunk_bytes=32 << 10)
        assert result.records == 1000
        files[workers] = _files(tmp_path / str(workers))
    assert len(files[0]) == len(tables_for(detect_entity(path)))
    for workers in (1, 2, 3):
        assert files[workers] == files[0], f"{workers} workers"
    # The reference engine, in worker processes, writes the same tables.
    parse_dump(path, tmp_path / "ref", workers=2, engine="reference", chunk_bytes=32 << 10)
    ours, ref = read_tables(tmp_path / "0", detect_entity(path)), read_tables(
        tmp_path / "ref", detect_entity(path))
    for table in ours:
        assert ours[table].equals(ref[table]), table


def test_result_metadata(sample_dumps: Path, tmp_path: Path) -> None:
    path = _sample(sample_dumps, "discogs_20200806_masters.xml.gz")
    result, _ = parse_to_frames(path, tmp_path / "m")
    assert result.entity == "masters"
    assert result.bytes_input == path.stat().st_size
    assert result.bytes_xml == 1_296_871
    assert result.mb_per_s > 0 and result.records_per_s > 0
    assert result.parser_version and result.engine == "fast"


def test_records_larger_than_the_chunk_size(sample_dumps: Path, tmp_path: Path) -> None:
    """Chunks never split a record: with 32 KiB chunks (records up to 85 KB) nothing changes."""
    path = _sample(sample_dumps, "discogs_20200806_releases.xml.gz")
    small = parse_dump(path, tmp_path / "small", workers=2, chunk_bytes=32 << 10)
    usual = parse_dump(path, tmp_path / "usual", workers=0)
    assert small.row_counts == usual.row_counts
    a, b = read_tables(tmp_path / "small", "releases"), read_tables(tmp_path / "usual", "releases")
    for name in a:
        assert a[name].equals(b[name]), name
