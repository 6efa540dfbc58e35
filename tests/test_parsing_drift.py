"""Every format drift of DESIGN §3 as a small fixture, parsed by both engines (which must agree)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from parsing_helpers import parse_both, write_xml

from discogs_assets.lib.parsing import parse_dump
from discogs_assets.lib.tables import tables_for

CREDIT_2020 = ("<artist><id>{id}</id><name>{name}</name><anv/><join/><role/><tracks/>"
               "</artist>")

RELEASE_2020 = (
    '<release id="7" status="Accepted"><images><image type="primary" uri="" uri150="" '
    'width="600" height="600"/></images><artists>' + CREDIT_2020.format(id=194, name="Various")
    + "</artists><title>T</title><labels><label name=\"L\" catno=\"C1\" id=\"5\"/></labels>"
    "<extraartists><artist><id>0</id><name>Unlinked</name><anv/><join/><role>Mixed By</role>"
    "<tracks/></artist></extraartists><formats><format name=\"CD\" qty=\"1\" text=\"\">"
    "<descriptions><description>Album</description></descriptions></format></formats>"
    "<genres><genre>Jazz</genre></genres><styles/><country>US</country><released/>"
    "<notes/><data_quality>Correct</data_quality><tracklist><track><position>1</position>"
    "<title>One</title><duration/></track></tracklist><identifiers/><videos/><companies/>"
    "</release>"
)
# The same release as a 2026 dump writes it: no status, no images, empty elements omitted,
# unlinked credits without <id>, master_id always present (0 = none).
RELEASE_2026 = (
    '<release id="7"><artists><artist><id>194</id><name>Various</name></artist></artists>'
    '<title>T</title><labels><label name="L" catno="C1" id="5"/></labels><extraartists>'
    "<artist><name>Unlinked</name><role>Mixed By</role></artist></extraartists><formats>"
    '<format name="CD" qty="1"><descriptions><description>Album</description></descriptions>'
    "</format></formats><genres><genre>Jazz</genre></genres><country>US</country>"
    '<data_quality>Correct</data_quality><master_id is_main_release="false">0</master_id>'
    "<tracklist><track><position>1</position><title>One</title></track></tracklist></release>"
)


def _releases(*records: str, decl: bool = False) -> str:
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if decl else ""
    return head + "<releases>\n" + "\n".join(records) + "\n</releases>\n"


def test_2020_and_2026_layouts_give_the_same_rows(tmp_path: Path) -> None:
    old = parse_both(write_xml(tmp_path, "old.xml", _releases(RELEASE_2020)), tmp_path / "o")
    new = parse_both(write_xml(tmp_path, "new.xml.gz", _releases(RELEASE_2026, decl=True)),
                     tmp_path / "n")
    assert old["release"]["status"].to_list() == ["Accepted"]
    assert new["release"]["status"].to_list() == [None]
    for name in old:
        if name != "release":
            assert old[name].equals(new[name]), name
    release = new["release"].row(0, named=True)
    assert (release["master_id"], release["is_main_release"]) == (None, None)  # 0 = no master
    assert release["released"] is None and release["notes"] is None
    credits = new["release_artist"]
    assert credits.filter(extra=True)["artist_id"].to_list() == [None]  # never invented
    assert credits.filter(extra=False)["name"].to_list() == ["Various"]
    assert new["release_format"]["text"].to_list() == [None]


@pytest.mark.parametrize(("master", "expected"), [
    ("", (None, None)),  # before 2017-12 and without a master: element absent
    ("<master_id>66526</master_id>", (66526, None)),  # before is_main_release existed
    ('<master_id is_main_release="true">66526</master_id>', (66526, True)),
    ('<master_id is_main_release="false">0</master_id>', (None, None)),
])
def test_master_id_variants(tmp_path: Path, master: str, expected: tuple[object, object]
                            ) -> None:
    rec = f'<release id="1"><title>x</title>{master}</release>'
    frames = parse_both(write_xml(tmp_path, "r.xml", _releases(rec)), tmp_path / "out")
    row = frames["release"].row(0, named=True)
    assert (row["master_id"], row["is_main_release"]) == expected


def test_sub_tracks_numbering_and_credits(tmp_path: Path) -> None:
    rec = ('<release id="9"><tracklist>'
           "<track><position>1</position><title>A</title></track>"
           "<track><position/><title>Suite</title><sub_tracks>"
           "<track><position>2a</position><title>I</title><artists>"
           + CREDIT_2020.format(id=11, name="Sub") + "</artists></track>"
           "<track><position>2b</position><title>II</title></track>"
           "</sub_tracks><extraartists><artist><id>12</id><name>Head</name><role>Arr</role>"
           "</artist></extraartists></track>"
           "<track><position>3</position><title>C</title></track>"
           "</tracklist></release>")
    frames = parse_both(write_xml(tmp_path, "r.xml", _releases(rec)), tmp_path / "out")
    assert frames["release_track"].select("track_idx", "parent_idx", "position", "title"
                                          ).rows() == [
        (0, None, "1", "A"), (1, None, None, "Suite"), (2, 1, "2a", "I"), (3, 1, "2b", "II"),
        (4, None, "3", "C")]
    assert frames["release_track_artist"].select("track_idx", "position", "extra", "artist_id"
                                                 ).rows() == [(1, 0, True, 12), (2, 0, False, 11)]


def test_old_dump_without_sub_tracks_and_series(tmp_path: Path) -> None:
    rec = ('<release id="2"><series><series name="Ser" catno="vol. 1" id="77"/></series>'
           "<tracklist><track><position>A</position><title>x</title></track></tracklist>"
           "</release>")
    frames = parse_both(write_xml(tmp_path, "r.xml", _releases(rec)), tmp_path / "out")
    assert frames["release_series"].rows() == [(2, 0, 77, "Ser", "vol. 1")]
    assert frames["release_track"]["parent_idx"].to_list() == [None]


def test_qty_beyond_64_bits_and_long_titles_survive_exactly(tmp_path: Path) -> None:
    qty = "340282366920938463463374607431768211457"
    title = "Long " * 2000  # beyond btree index limits: kept whole
    rec = (f'<release id="3"><formats><format name="Vinyl" qty="{qty}" text="Box"/></formats>'
           f"<tracklist><track><position>1</position><title>{title}</title></track>"
           "</tracklist></release>")
    frames = parse_both(write_xml(tmp_path, "r.xml", _releases(rec)), tmp_path / "out")
    assert frames["release_format"]["qty"].to_list() == [qty]
    assert frames["release_format"]["descriptions"].to_list() == [None]
    assert frames["release_track"]["title"].to_list() == [title]


def test_control_characters_are_replaced_and_counted(tmp_path: Path) -> None:
    rec = ('<release id="4"><title>bad\x01 ctl&#1; and &#x1F; ok&#13;&#10;&#9;</title>'
           "<notes>line\r\nbreak \u00c3\u00a9 mojibake stays</notes></release>")
    frames = parse_both(write_xml(tmp_path, "r.xml", _releases(rec)), tmp_path / "out")
    row = frames["release"].row(0, named=True)
    assert row["title"] == "bad\ufffd ctl\ufffd and \ufffd ok\r\n\t"
    assert row["notes"] == "line\nbreak \u00c3\u00a9 mojibake stays"
    result = parse_dump(tmp_path / "r.xml", tmp_path / "again", workers=0)
    assert result.control_chars_replaced == 3


def _labels(*records: str) -> str:
    return "<labels>\n" + "\n".join(records) + "\n</labels>\n"


def test_labels_nested_sublabels_parent_and_nameless_212(tmp_path: Path) -> None:
    recs = (
        "<label><id>212</id><sublabels><label id=\"1\">A</label><label id=\"2\">B</label>"
        "</sublabels></label>",
        # 2026: empty <parentLabel id=".."/>; nested <label> must not become a record
        '<label><id>1</id><name>A</name><parentLabel id="212"/><urls><url>http://a</url>'
        "<url/></urls></label>",
        # 2020: parent with a name; old sublabels without ids
        '<label><images/><id>2</id><name>B</name><contactinfo>c&#13;\nd</contactinfo>'
        '<parentLabel id="212">Not On Label</parentLabel><sublabels><label>Old</label>'
        "</sublabels></label>",
    )
    frames = parse_both(write_xml(tmp_path, "l.xml", _labels(*recs)), tmp_path / "out")
    assert frames["label"].select("id", "name", "parent_label_id", "parent_label_name").rows() == [
        (212, None, None, None), (1, "A", 212, None), (2, "B", 212, "Not On Label")]
    assert frames["label"]["contact_info"].to_list()[2] == "c\r\nd"
    assert frames["label_sublabel"].rows() == [(212, 0, 1, "A"), (212, 1, 2, "B"),
                                              (2, 0, None, "Old")]
    assert frames["label_url"].rows() == [(1, 0, "http://a")]  # <url/> carries nothing


def test_empty_elements_in_lists_of_strings_are_skipped(tmp_path: Path) -> None:
    """Positions count the kept elements; an empty element elsewhere still gives a row."""
    artists = ("<artists>\n<artist><id>5</id><name>A</name><namevariations><name/><name>B"
               "</name></namevariations><urls><url>http://x</url><url></url><url>http://y"
               "</url></urls><aliases><name id=\"8\"/></aliases></artist>\n</artists>")
    a = parse_both(write_xml(tmp_path, "a.xml", artists), tmp_path / "a")
    assert a["artist_namevariation"].rows() == [(5, 0, "B")]
    assert a["artist_url"].rows() == [(5, 0, "http://x"), (5, 1, "http://y")]
    assert a["artist_alias"].rows() == [(5, 0, 8, None)]  # not a list of strings: kept
    rec = ('<release id="1"><genres><genre/><genre>Jazz</genre></genres><styles><style/>'
           "</styles></release>")
    r = parse_both(write_xml(tmp_path, "r.xml", _releases(rec)), tmp_path / "r")
    assert r["release_genre"].rows() == [(1, 0, "Jazz")]
    assert r["release_style"].height == 0


def test_members_layouts_2020_and_2026_give_the_same_rows(tmp_path: Path) -> None:
    old = ('<artists><artist><id>5</id><name>Duo</name><members><id>26</id>'
           '<name id="26">X</name><id>27</id><name id="27">Y</name></members>'
           '<aliases><name id="8">Al</name></aliases><namevariations><name>D.</name>'
           '</namevariations><groups><name id="9">G</name></groups></artist></artists>')
    new = ('<artists><artist><id>5</id><name>Duo</name><members><name id="26">X</name>'
           '<name id="27">Y</name></members><aliases><name id="8">Al</name></aliases>'
           "<namevariations><name>D.</name></namevariations><groups><name id=\"9\">G</name>"
           "</groups></artist></artists>")
    a = parse_both(write_xml(tmp_path, "a.xml", old), tmp_path / "a")
    b = parse_both(write_xml(tmp_path, "b.xml", new), tmp_path / "b")
    for name in a:
        assert a[name].equals(b[name]), name
    assert a["artist_member"].rows() == [(5, 0, 26, "X"), (5, 1, 27, "Y")]
    assert a["artist_alias"].rows() == [(5, 0, 8, "Al")]
    assert a["artist_group"].rows() == [(5, 0, 9, "G")]
    assert a["artist_namevariation"].rows() == [(5, 0, "D.")]


def test_masters_2020_and_2026(tmp_path: Path) -> None:
    old = ('<masters>\n<master id="113"><main_release>116925</main_release><images><image '
           'type="primary" uri="" uri150="" width="1" height="1"/></images><artists>'
           + CREDIT_2020.format(id=3225, name="V") + "</artists><genres><genre>E</genre>"
           "</genres><styles><style>T</style></styles><year>2002</year><title>M</title>"
           '<data_quality>Correct</data_quality><videos><video src="s" duration="321" '
           'embed="true"><title>t</title><description> </description></video></videos>'
           "</master>\n</masters>")
    frames = parse_both(write_xml(tmp_path, "m.xml", old), tmp_path / "out")
    assert frames["master"].rows() == [(113, "M", 2002, 116925, None, "Correct")]
    assert frames["master_video"].rows() == [(113, 0, "s", 321, True, "t", " ")]
    assert frames["master_artist"].rows() == [(113, 0, 3225, "V", None, None, None)]


@pytest.mark.parametrize("entity", ["labels", "artists", "masters", "releases"])
def test_empty_dump_writes_every_table_empty_with_the_contract_schema(
        tmp_path: Path, entity: str) -> None:
    path = write_xml(tmp_path, "e.xml.gz", f"<{entity}>\n</{entity}>\n")
    frames = parse_both(path, tmp_path / "out")
    for spec in tables_for(entity):
        assert frames[spec.name].schema == spec.schema
        assert frames[spec.name].height == 0


def test_several_records_on_one_line(tmp_path: Path) -> None:
    text = _releases('<release id="1"><title>a</title></release><release id="2"><title>b'
                     "</title></release>", '<release id="3"/>')
    frames = parse_both(write_xml(tmp_path, "r.xml", text), tmp_path / "out")
    assert frames["release"]["id"].to_list() == [1, 2, 3]
    assert frames["release"]["title"].to_list() == ["a", "b", None]
    assert isinstance(frames["release"], pl.DataFrame)
