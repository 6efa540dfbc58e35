"""The sample mirror generator: its files parse, verify, evolve as summarized and hold the
awkward cases. Everything is read back independently with lxml and hashlib."""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
import uuid
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from lxml import etree

from discogs_assets.cli import main
from discogs_assets.lib.parsing import parse_dump
from discogs_assets.lib.sample_mirror import (
    DEFAULT_MONTHS,
    MirrorSummary,
    SampleMirrorError,
    build_sample_mirror,
)
from discogs_assets.lib.sample_mirror.catalogue import DANGLING_LABEL_ID
from discogs_assets.lib.tables import ENTITIES

MONTHS3 = ("2026-01", "2026-02", "2026-03")
ROOT_TAG = {"labels": "label", "artists": "artist", "masters": "master", "releases": "release"}
DATA_NAME = re.compile(r"^discogs_(\d{8})_(labels|artists|masters|releases)\.xml\.gz$")
CHECKSUM_NAME = re.compile(r"^discogs_(\d{8})_CHECKSUM\.txt$")
CHECKSUM_LINE = re.compile(r"^([0-9a-f]{64})  (discogs_\d{8}_[a-z]+\.xml\.gz)$")


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> MirrorSummary:
    return build_sample_mirror(tmp_path_factory.mktemp("mirror"), MONTHS3)


def _records(path: Path, entity: str) -> dict[int, etree._Element]:
    """Top-level records by id (nested <label>s inside <sublabels> are not records)."""
    tag = ROOT_TAG[entity]
    out: dict[int, etree._Element] = {}
    with gzip.open(path, "rb") as fh:
        for _, elem in etree.iterparse(fh, events=("end",), tag=tag, resolve_entities=False,
                                       no_network=True, load_dtd=False):
            parent = elem.getparent()
            if parent is None or parent.getparent() is not None:
                continue
            rid = int(elem.findtext("id") if entity in ("labels", "artists") else elem.get("id"))
            assert rid not in out, f"duplicate {entity} id {rid} in {path.name}"
            out[rid] = elem
    return out


def _month_records(mirror: MirrorSummary, month: str) -> dict[str, dict[int, etree._Element]]:
    ms = mirror.months[month]
    directory = mirror.root / "data" / f"{ms.dump_date.year}"
    return {e: _records(directory / ms.files[e].name, e) for e in ENTITIES}


def _bytes(records: dict[int, etree._Element]) -> dict[int, bytes]:
    return {i: etree.tostring(el, with_tail=False) for i, el in records.items()}


@pytest.fixture(scope="module")
def parsed(mirror: MirrorSummary) -> dict[str, dict[str, dict[int, etree._Element]]]:
    return {month: _month_records(mirror, month) for month in MONTHS3}


def test_layout_names_and_dump_dates(mirror: MirrorSummary) -> None:
    files = sorted(p.relative_to(mirror.root).as_posix() for p in mirror.root.rglob("*")
                   if p.is_file())
    assert "identities.csv" in files
    dumps = [f for f in files if f != "identities.csv"]
    assert all(f.startswith("data/2026/") for f in dumps)
    dates = set()
    for f in dumps:
        name = f.rsplit("/", 1)[1]
        match = DATA_NAME.match(name) or CHECKSUM_NAME.match(name)
        assert match, f"unexpected file {f}"
        dates.add(match.group(1))
    # day 1 by default; the third month is dated on another day (like 20260115 in reality)
    assert dates == {"20260101", "20260201", "20260315"}
    assert len(dumps) == 3 * 5
    assert not [p for p in mirror.root.rglob("*.tmp")], "temporary files left behind"


def test_files_parse_and_counts_match_summary(mirror: MirrorSummary,
                                              parsed: dict[str, dict]) -> None:
    for month, ms in mirror.months.items():
        for entity in ENTITIES:
            path = mirror.root / "data" / "2026" / ms.files[entity].name
            with gzip.open(path, "rb") as fh:
                head = fh.read(64)
            # 2026 format: no XML declaration, root element first
            assert head.startswith(f"<{entity}>\n<{ROOT_TAG[entity]}".encode()), head
            records = parsed[month][entity]
            assert len(records) == ms.counts[entity] > 0
            assert list(records) == sorted(records), "records are written in id order"
            assert ms.files[entity].size == path.stat().st_size
            with gzip.open(path, "rb") as fh:
                assert len(fh.read()) == ms.xml_bytes[entity]
        releases = parsed[month]["releases"].values()
        assert not [r for r in releases if r.get("status") is not None]
        assert not [r for r in releases if r.find("images") is not None]


def test_checksum_lists_and_verifies_every_file(mirror: MirrorSummary) -> None:
    for ms in mirror.months.values():
        directory = mirror.root / "data" / "2026"
        checksum = directory / ms.checksum.name
        lines = checksum.read_text("ascii").splitlines()
        listed = {}
        for line in lines:
            match = CHECKSUM_LINE.match(line)
            assert match, f"bad CHECKSUM line {line!r}"
            listed[match.group(2)] = match.group(1)
        assert set(listed) == {info.name for info in ms.files.values()}
        for name, digest in listed.items():
            assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == digest
            # written last: it is the "dump complete" marker
            assert checksum.stat().st_mtime_ns >= (directory / name).stat().st_mtime_ns
        assert hashlib.sha256(checksum.read_bytes()).hexdigest() == ms.checksum.sha256


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file()}


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    first = _tree(build_sample_mirror(tmp_path / "a").root)
    second = _tree(build_sample_mirror(tmp_path / "b").root)
    assert len(first) == 2 * 5 + 1
    assert first == second
    other_seed = _tree(build_sample_mirror(tmp_path / "c", seed=7).root)
    assert other_seed.keys() == first.keys()
    assert other_seed["data/2026/discogs_20260101_releases.xml.gz"] != \
        first["data/2026/discogs_20260101_releases.xml.gz"]
    assert DEFAULT_MONTHS == ("2026-01", "2026-02")


def test_months_differ_as_the_summary_says(mirror: MirrorSummary, parsed: dict) -> None:
    for prev_month, month in pairwise(MONTHS3):
        ms = mirror.months[month]
        for entity in ENTITIES:
            before = _bytes(parsed[prev_month][entity])
            after = _bytes(parsed[month][entity])
            added = after.keys() - before.keys()
            removed = before.keys() - after.keys()
            changed = {i for i in after.keys() & before.keys() if after[i] != before[i]}
            assert added == ms.added[entity], (month, entity)
            assert removed == ms.removed[entity], (month, entity)
            assert changed == ms.changed[entity], (month, entity)
            # real months: every entity gains, edits and loses records; most stay identical
            assert added and removed and changed, (month, entity)
            assert len(changed) + len(removed) < len(before) // 5
    first = mirror.months[MONTHS3[0]]
    assert all(first.added[e] == set(_bytes(parsed[MONTHS3[0]][e])) for e in ENTITIES)


def test_one_release_is_deleted_then_returns_unchanged(mirror: MirrorSummary,
                                                       parsed: dict) -> None:
    m1, m2, m3 = (parsed[m]["releases"] for m in MONTHS3)
    returning = [i for i in m1 if i not in m2 and i in m3]
    assert len(returning) == 1
    rid = returning[0]
    assert etree.tostring(m1[rid], with_tail=False) == etree.tostring(m3[rid], with_tail=False)
    assert rid in mirror.months[MONTHS3[1]].removed["releases"]
    assert rid in mirror.months[MONTHS3[2]].added["releases"]


def _text(elements: dict[int, etree._Element]) -> str:
    return "".join(t for el in elements.values() for t in el.itertext())


def test_awkward_cases_are_present(parsed: dict) -> None:
    month = parsed[MONTHS3[0]]
    labels, artists = month["labels"], month["artists"]
    masters, releases = month["masters"], month["releases"]

    # label 212: no name, parent of many; its children point back with an empty parentLabel
    l212 = labels[212]
    assert l212.find("name") is None
    subs = [int(s.get("id")) for s in l212.find("sublabels")]
    assert len(subs) >= 10
    for sid in subs:
        parent = labels[sid].find("parentLabel")
        assert parent.get("id") == "212" and parent.text is None
    # other parents list sublabels whose records name them as parentLabel
    named_parents = [lab for i, lab in labels.items() if i != 212
                     and lab.find("sublabels") is not None]
    assert named_parents
    for lab in named_parents:
        for sub in lab.find("sublabels"):
            child = labels[int(sub.get("id"))]
            assert child.find("parentLabel").get("id") == lab.findtext("id")
            assert child.findtext("name") == sub.text

    # artist 194 "Various" credited on compilations
    assert artists[194].findtext("name") == "Various"
    various = [r for r in releases.values() if r.findtext("artists/artist/id") == "194"]
    assert len(various) >= 10
    assert all(r.find("tracklist/track/artists") is not None for r in various)

    # groups with members, referentially closed both ways; aliases both ways
    groups = [a for a in artists.values() if a.find("members") is not None]
    assert groups
    for group in groups:
        for member in group.find("members"):
            member_rec = artists[int(member.get("id"))]
            assert group.findtext("id") in [g.get("id") for g in member_rec.find("groups")]
    aliased = [a for a in artists.values() if a.find("aliases") is not None]
    assert aliased
    for art in aliased:
        for alias in art.find("aliases"):
            back = artists[int(alias.get("id"))].find("aliases")
            assert art.findtext("id") in [b.get("id") for b in back]
    bare = [a for a in artists.values() if a.find("realname") is None and a.find("profile") is None]
    assert bare, "artists without realname/profile (omitted elements)"

    # credits without <id>, master_id 0, is_main_release, sub_tracks under a heading track
    assert any(c.find("id") is None for r in releases.values() for c in r.iter("artist"))
    assert all(r.find("master_id") is not None for r in releases.values())
    no_master = [r for r in releases.values() if r.findtext("master_id") == "0"]
    assert no_master and all(r.find("master_id").get("is_main_release") == "false"
                             for r in no_master)
    mains = [r for r in releases.values() if r.find("master_id").get("is_main_release") == "true"]
    assert mains
    for rel in mains:
        assert masters[int(rel.findtext("master_id"))].findtext("main_release") == rel.get("id")
    headings = [t for r in releases.values() for t in r.iterfind("tracklist/track")
                if t.find("sub_tracks") is not None]
    assert headings and all(t.find("position") is None for t in headings)

    # huge qty, a track title beyond the btree limit, non-ASCII and escaped characters
    assert max(int(f.get("qty")) for r in releases.values() for f in r.iter("format")) > 2**64
    assert max(len((t.findtext("title") or "").encode()) for r in releases.values()
               for t in r.iter("track")) > 3000
    text = _text(labels) + _text(artists) + _text(releases)
    for needle in ("ü", "日本", "🎧", "&", "<", "\r\n"):
        assert needle in text, needle

    # referential closure except the one deliberate dangling label reference
    label_refs = {int(lab.get("id")) for r in releases.values()
                  for lab in r.iterfind("labels/label")}
    assert label_refs - labels.keys() == {DANGLING_LABEL_ID}
    assert label_refs & labels.keys()
    credit_ids = {int(i.text) for r in [*releases.values(), *masters.values()]
                  for i in r.iterfind(".//artist/id")}
    assert credit_ids <= artists.keys()
    member_ids = {int(n.get("id")) for a in artists.values()
                  for n in a.iterfind("*/name[@id]")}
    assert member_ids <= artists.keys()
    master_refs = {int(r.findtext("master_id")) for r in releases.values()} - {0}
    assert master_refs <= masters.keys()
    assert {int(m.findtext("main_release")) for m in masters.values()} <= releases.keys()
    series_ids = {int(s.get("id")) for r in releases.values() for s in r.iterfind("series/series")}
    assert series_ids and series_ids <= labels.keys()
    company_ids = {int(c.findtext("id")) for r in releases.values()
                   for c in r.iterfind("companies/company")}
    assert company_ids and company_ids <= labels.keys()


def _child_order_pairs(records: list[etree._Element]) -> tuple[set[str], set[tuple[str, str]]]:
    tags: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for rec in records:
        seq = [c.tag for c in rec]
        tags.update(seq)
        pairs.update((a, b) for k, a in enumerate(seq) for b in seq[k + 1:])
    return tags, pairs


def test_element_names_and_order_follow_the_real_dumps(sample_dumps: Path,
                                                       parsed: dict) -> None:
    samples = sample_dumps / "philipmat_discogs-xml2db"
    for entity in ENTITIES:
        with gzip.open(samples / f"discogs_20200806_{entity}.xml.gz", "rb") as fh:
            real = list(etree.parse(fh).getroot())
        if entity == "masters":  # the 2026-02 masters fixture, current format
            real += list(etree.parse(samples / "discogs_20260201_masters.xml").getroot())
        real_tags, real_pairs = _child_order_pairs(real)
        ours_tags, ours_pairs = _child_order_pairs(list(parsed[MONTHS3[0]][entity].values()))
        # <series> is absent from the small real samples; everything else must be a real name
        assert ours_tags - real_tags <= {"series"}, entity
        reversed_pairs = {(a, b) for a, b in ours_pairs if (b, a) in real_pairs
                          and (a, b) not in real_pairs}
        assert not reversed_pairs, f"{entity}: children out of the real order: {reversed_pairs}"
        assert "images" not in ours_tags


def test_identities_csv(mirror: MirrorSummary, parsed: dict) -> None:
    with open(mirror.identities, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["identity_id", "source", "external_id", "active",
                             "discogs_unavailable", "discogs_unavailable_note"]
    assert 15 <= len(rows) <= 30
    assert len({int(r["identity_id"]) for r in rows}) == len(rows)
    assert {r["active"] for r in rows} | {r["discogs_unavailable"] for r in rows} == \
        {"true", "false"}
    sources = Counter(r["source"] for r in rows)
    assert sources["discogs_release"] >= 10 and sources["discogs_master"] >= 2
    assert {"musicbrainz_release", "spotify_album", "bandcamp"} <= sources.keys()
    uuid.UUID(next(r["external_id"] for r in rows if r["source"] == "musicbrainz_release"))
    last = parsed[MONTHS3[-1]]
    releases = [int(r["external_id"]) for r in rows if r["source"] == "discogs_release"]
    gone = [r for r in releases if r not in last["releases"]]
    assert len(gone) == 1 and gone[0] in parsed[MONTHS3[-2]]["releases"], \
        "one release deleted in the last month"
    masters = [int(r["external_id"]) for r in rows if r["source"] == "discogs_master"]
    assert set(masters) <= last["masters"].keys()
    assert sum(r["active"] == "false" for r in rows) == 1
    flagged = [r for r in rows if r["discogs_unavailable"] == "true"]
    assert len(flagged) == 1 and flagged[0]["discogs_unavailable_note"]


def test_scale_multiplies_counts(tmp_path: Path, mirror: MirrorSummary) -> None:
    one = mirror.months["2026-01"].counts
    two = build_sample_mirror(tmp_path, ["2026-01"], scale=2).months["2026-01"].counts
    for entity in ENTITIES:
        assert 1.9 * one[entity] <= two[entity] <= 2.1 * one[entity], entity


@pytest.mark.parametrize(("months", "scale", "message"), [
    ([], 1, "no months"),
    (["2026-02", "2026-01"], 1, "strictly increasing"),
    (["2026-13"], 1, "not a month"),
    (["2026-01"], 0, "scale"),
])
def test_bad_arguments_are_refused(tmp_path: Path, months: list[str], scale: int,
                                   message: str) -> None:
    with pytest.raises(SampleMirrorError, match=message):
        build_sample_mirror(tmp_path, months, scale=scale)
    assert not any(tmp_path.iterdir())


# -- every layout since 2008, and months spread over several dumps -----------------------------
HISTORY = ("2008-03", "2011-02", "2019-10", "2026-01")
HISTORY_DAYS = {"2008-03": 9, "2011-02": {"releases": 11},
                "2019-10": {"masters": 3, "releases": 3, "labels": 10, "artists": 10}}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> MirrorSummary:
    return build_sample_mirror(tmp_path_factory.mktemp("history"), HISTORY,
                               dump_days=HISTORY_DAYS)


def _raw(mirror: MirrorSummary, month: str, entity: str) -> bytes:
    ms = mirror.months[month]
    with gzip.open(mirror.root / "data" / month[:4] / ms.files[entity].name, "rb") as fh:
        return fh.read()


def test_history_dumps_and_their_checksums(history: MirrorSummary) -> None:
    assert {m: ms.format for m, ms in history.months.items()} == {
        "2008-03": "2008", "2011-02": "2008", "2019-10": "2020", "2026-01": "2026"}
    dumps: dict[str, set[str]] = {}
    for path in (history.root / "data").rglob("discogs_*"):
        day, kind = path.name.split("_")[1], path.name.split("_")[2].split(".")[0]
        dumps.setdefault(day, set()).add(kind)
    assert dumps == {
        "20080309": {"labels", "artists", "releases", "CHECKSUM"},  # no masters before 2011-11
        "20110201": {"labels", "artists", "CHECKSUM"},
        "20110211": {"releases", "CHECKSUM"},
        "20191003": {"masters", "releases", "CHECKSUM"},
        "20191010": {"labels", "artists", "CHECKSUM"},
        "20260101": {"labels", "artists", "masters", "releases", "CHECKSUM"},
    }
    for ms in history.months.values():
        directory = history.root / "data" / ms.month[:4]
        for checksum in ms.checksums:  # each lists exactly its own dump's files
            day = checksum.name.split("_")[1]
            listed = dict(reversed(CHECKSUM_LINE.match(line).groups())  # type: ignore[union-attr]
                          for line in (directory / checksum.name).read_text().splitlines())
            assert set(listed) == {f.name for f in ms.files.values() if f"_{day}_" in f.name}
            for name, digest in listed.items():
                assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == digest
    assert history.months["2011-02"].dump_date.day == 11
    assert "masters" not in history.months["2011-02"].counts


def test_2008_layout(history: MirrorSummary, tmp_path: Path) -> None:
    releases = _raw(history, "2008-03", "releases")
    assert releases.startswith(b'<release id="101" status="Accepted">')  # no root, no prolog
    assert b"<master_id" not in releases and b"<sub_tracks>" not in releases
    assert b"<images><image " in releases and b"<id>0</id>" in releases
    assert b"<notes/>" in releases or b"<styles/>" in releases  # empty elements written
    assert b"\x0b" in releases and "CafÃ©".encode() in releases  # control chars, mojibake
    artists = _raw(history, "2008-03", "artists")
    assert re.search(rb'<members><id>(\d+)</id><name id="\1">', artists)
    result = parse_dump(history.root / "data" / "2008" / history.months["2008-03"].files[
        "releases"].name, tmp_path / "out", engine="reference", workers=0)
    assert result.records == history.months["2008-03"].counts["releases"]
    assert result.control_chars_replaced > 0


def test_2020_layout(history: MirrorSummary, sample_dumps: Path) -> None:
    releases = _raw(history, "2019-10", "releases")
    assert releases.startswith(b'<releases>\n<release id="101" status="Accepted">')
    assert releases.isascii() and b"&#26085;" in releases  # non-ASCII as character references
    assert b"<master_id is_main_release=" in releases and b">0</master_id>" not in releases
    assert b"<sub_tracks>" in releases and b"<images>" in releases
    samples = sample_dumps / "philipmat_discogs-xml2db"
    for entity in ENTITIES:  # the same names, in the same order, as the real 2020 samples
        with gzip.open(samples / f"discogs_20200806_{entity}.xml.gz", "rb") as fh:
            real_tags, real_pairs = _child_order_pairs(list(etree.parse(fh).getroot()))
        ours = list(etree.fromstring(_raw(history, "2019-10", entity)))
        tags, pairs = _child_order_pairs(ours)
        assert tags - real_tags <= {"series"} and "images" in tags, entity
        assert not {(a, b) for a, b in pairs if (b, a) in real_pairs and (a, b) not in real_pairs}


def test_unknown_layout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SampleMirrorError, match="unknown dump format '1999'"):
        build_sample_mirror(tmp_path, ["2026-01"], formats={"2026-01": "1999"})
    with pytest.raises(SampleMirrorError, match="names unknown kinds"):
        build_sample_mirror(tmp_path, ["2026-01"], dump_days={"2026-01": {"images": 2}})


def test_cli_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample-mirror", str(tmp_path / "m"), "--months", "2008-03", "2026-01",
                 "--formats", "auto", "2020"]) == 0
    out = capsys.readouterr().out
    assert "2008-03: dump 2008-03-01 (2008 layout) labels=" in out and "masters" not in \
        out.splitlines()[0]
    assert "2026-01: dump 2026-01-01 (2020 layout)" in out
    assert main(["sample-mirror", str(tmp_path / "n"), "--months", "2008-03", "2026-01",
                 "--formats", "auto", "2020", "2026"]) == 2
    assert "one layout for all months or one per month (2), not 3" in capsys.readouterr().err
