"""Which files a month takes, for every month of the real listings (2008-03 … 2022-11 from the
legacy S3 bucket, 2026 from the production host's HTML page), and the month manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from discogs_assets.lib.acquisition import (
    DumpIncomplete,
    DumpNotPublished,
    InvalidDumpName,
    MonthDump,
)
from discogs_assets.lib.acquisition.listing import parse_html_listing
from discogs_assets.lib.acquisition.selection import (
    DumpOverrideError,
    combined_checksum_sha256,
    select_month,
)
from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.tables import ENTITIES

# Months served by one dump holding every kind of its era (masters from 2011-11 on): year ->
# "MM=DD" of the dump taken. Where a second dump of the month gives nothing (20131001 is an
# empty CHECKSUM; 20171201 is superseded by 20171212), the day is the one taken.
ONE_DUMP = {
    2008: "03=09 09=18 10=14",
    2009: "01=01 02=05 03=04 04=01 07=01 09=01 11=01 12=01",
    2010: "01=01 02=01 06=01 07=07 08=01 09=02 10=04 12=06",
    2011: "01=07 03=01 04=01 05=01 06=01 07=01 08=01 09=01 10=01 11=10 12=01",
    2012: "01=01 02=01 03=01 04=01 05=01 06=01 07=02 08=01 09=01 10=01 11=01 12=01",
    2013: "02=01 03=01 04=01 05=23 06=01 07=02 08=01 09=01 10=02 11=01 12=01",
    2014: "01=01 02=01 03=01 04=01 05=01 06=07 07=01 08=03 09=01 10=01 11=01 12=01",
    2015: "01=01 02=01 03=01 04=01 05=01 06=01 07=08 08=10 09=01 10=01 11=01 12=01",
    2016: "01=01 02=01 03=01 04=01 05=01 06=01 07=01 08=09 09=01 10=01 11=01 12=01",
    2017: "01=01 02=01 03=01 04=01 05=01 06=01 07=01 08=01 09=01 10=01 11=01 12=12",
    2018: "01=01 02=01 03=01 04=01 05=14 06=01 07=01 08=01 09=01 10=01 11=01 12=01",
    2019: "01=01 02=01 03=01 04=02 05=01 06=01 07=01 08=01 09=01 11=01 12=01",
    2020: "01=01 02=20 03=01 04=01 05=01 07=03 08=06 09=01 10=01 11=01 12=01",
    2021: "01=01 02=01 03=01 04=01 05=01 06=01 08=01 09=01 10=01 11=01 12=01",
    2022: "01=01 02=01 03=01 04=01 05=01 06=01 08=01 09=01 10=01 11=01",
}
MASTERS_FROM = "2011-11"
# Months whose kinds come from different dumps or are not all published: kind -> the dump date
# taken, "-" for a kind no dump of the month lists, "?YYYYMMDD" for a kind only in a dump
# without a CHECKSUM (its step fails unless the operator accepts it unverified).
SPLIT = {
    "2011-02": {"labels": "20110201", "artists": "20110201", "masters": "-",
                "releases": "20110211"},
    "2013-01": {"labels": "-", "artists": "-", "masters": "20130101", "releases": "20130103"},
    "2019-10": {"labels": "20191010", "artists": "20191010", "masters": "?20191003",
                "releases": "?20191003"},
    "2020-06": {"labels": "-", "artists": "-", "masters": "20200601", "releases": "20200601"},
}
INCOMPLETE = {"2021-07"}  # releases only, never got a CHECKSUM


def _expected() -> dict[str, dict[str, str] | type[Exception]]:
    out: dict[str, dict[str, str] | type[Exception]] = {}
    for year, days in ONE_DUMP.items():
        for item in days.split():
            mon, day = item.split("=")
            month, date = f"{year}-{mon}", f"{year}{mon}{day}"
            out[month] = {k: date if k != "masters" or month >= MASTERS_FROM else "-"
                          for k in ENTITIES}
    out.update(SPLIT)
    out.update(dict.fromkeys(INCOMPLETE, DumpIncomplete))
    return out


def _outcome(dump: MonthDump) -> dict[str, str]:
    out = {kind: f.date for kind, f in dump.files.items()}
    out.update({kind: f"?{day}" for kind, day in dump.without_checksum.items()})
    out.update(dict.fromkeys(dump.missing_kinds, "-"))
    return out


def test_every_month_of_the_legacy_listing(s3_files: list) -> None:
    """2008-02 … 2022-12: each month takes exactly the files above, each verified by its own
    dump's CHECKSUM; every other month ends with a clear, non-retrying status."""
    expected = _expected()
    assert len(expected) == 161  # every month with a file in the listing
    for year in range(2008, 2023):
        for mon in range(1, 13):
            month = f"{year}-{mon:02d}"
            want = expected.get(month, DumpNotPublished)
            if isinstance(want, type):
                with pytest.raises(want) as err:
                    select_month(s3_files, month)
                assert month in str(err.value) and isinstance(err.value, NonRetryableError)
                continue
            dump = select_month(s3_files, month)
            assert _outcome(dump) == want, month
            for kind, f in dump.files.items():
                checksum = dump.checksum_of(kind)
                assert checksum is not None and checksum.date == f.date, (month, kind)
            assert dump.verified and dump.unverified_kinds == ()


def test_clear_messages(s3_files: list) -> None:
    with pytest.raises(DumpNotPublished, match=r"^no dump published for 2022-07$"):
        select_month(s3_files, "2022-07")
    with pytest.raises(DumpIncomplete, match=r"^dump for 2021-07 is incomplete: CHECKSUM not yet "
                       r"published \(dump 20210701 lists discogs_20210701_releases.xml.gz\)"):
        select_month(s3_files, "2021-07")
    only_checksum = [f for f in s3_files if f.date == "20131001"]
    with pytest.raises(DumpIncomplete, match="CHECKSUM published but no data files"):
        select_month(only_checksum, "2013-10")
    dump = select_month(s3_files, "2019-10")
    assert dump.describe() == ("labels=20191010, artists=20191010, masters=only in 20191003 "
                               "without CHECKSUM, releases=only in 20191003 without CHECKSUM")


def test_merged_month_verifies_each_file_against_its_own_checksum(s3_files: list) -> None:
    dump = select_month(s3_files, "2011-02")
    assert dump.dates == ("20110201", "20110211") and dump.date == "20110211"
    assert {d: c.name for d, c in dump.checksums.items()} == {
        "20110201": "discogs_20110201_CHECKSUM.txt", "20110211": "discogs_20110211_CHECKSUM.txt"}
    assert dump.checksum_of("releases").name == "discogs_20110211_CHECKSUM.txt"
    assert dump.checksum_of("labels").name == "discogs_20110201_CHECKSUM.txt"
    assert dump.checksum_file.name == "discogs_20110211_CHECKSUM.txt"  # the newest: the marker
    assert dump.other_dates == ()


def test_accept_unverified_fills_kinds_only_a_dump_without_checksum_has(s3_files: list) -> None:
    dump = select_month(s3_files, "2019-10", accept_unverified=True)
    assert _outcome(dump) == {"labels": "20191010", "artists": "20191010",
                              "masters": "20191003", "releases": "20191003"}
    assert dump.unverified_kinds == ("masters", "releases") and not dump.verified
    assert list(dump.checksums) == ["20191010"]  # 20191003 never got one
    alone = select_month(s3_files, "2021-07", accept_unverified=True)
    assert (alone.date, alone.verified, alone.checksum_file) == ("20210701", False, None)
    assert alone.missing_kinds == ("labels", "artists", "masters")


def test_dump_dates_override(s3_files: list) -> None:
    # 2013-01: the latest complete releases file (20130103) is 10 MB; 20130101's is 1.8 GB
    dump = select_month(s3_files, "2013-01", dump_dates={"releases": "20130101"})
    assert _outcome(dump)["releases"] == "20130101" and dump.dates == ("20130101",)
    assert dump.files["releases"].size == 1_799_712_727 and dump.other_dates == ("20130103",)
    with pytest.raises(DumpOverrideError, match="lists no labels file for 2013-01; listed: "
                       r"20130101 \(masters, releases\), 20130103 \(releases\)"):
        select_month(s3_files, "2013-01", dump_dates={"labels": "20130101"})
    with pytest.raises(DumpOverrideError, match="not one of"):
        select_month(s3_files, "2013-01", dump_dates={"images": "20130101"})
    with pytest.raises(DumpOverrideError, match="no CHECKSUM: add accept_unverified"):
        select_month(s3_files, "2019-10", dump_dates={"masters": "20191003"})
    taken = select_month(s3_files, "2019-10", dump_dates={"masters": "20191003"},
                         accept_unverified=True)
    assert taken.unverified_kinds == ("masters", "releases")


def test_2026_html_listing(sample_dumps: Path) -> None:
    page = (sample_dumps / "dsub-io_open-discogs-batch" / "DiscogsData2026.html").read_text()
    files = parse_html_listing(page).files
    dump = select_month(files, "2026-07")
    assert _outcome(dump) == dict.fromkeys(ENTITIES, "20260701") and dump.verified
    assert not dump.files["releases"].size_exact  # "10.4 GB": an upper estimate
    with pytest.raises(DumpNotPublished, match="no dump published for 2026-06"):
        select_month(files, "2026-06")


def test_month_dump_round_trips_and_reads_the_one_dump_form(s3_files: list) -> None:
    for month in ("2011-02", "2019-10", "2022-08"):
        dump = select_month(s3_files, month)
        assert MonthDump.from_dict(dump.to_dict()) == dump
    # the form written before months merged dumps: one date, the CHECKSUM among the files
    dump = select_month(s3_files, "2022-08")
    legacy = {"month": "2022-08", "date": "20220801", "verified": True, "other_dates": [],
              "files": {**dump.to_dict()["files"],
                        "CHECKSUM": dump.to_dict()["checksums"]["20220801"]}}
    assert MonthDump.from_dict(legacy) == dump
    tampered = dump.to_dict()
    tampered["files"]["labels"]["name"] = "../../x"
    with pytest.raises(InvalidDumpName, match="does not match its key"):
        MonthDump.from_dict(tampered)
    swapped = dump.to_dict()
    swapped["files"]["artists"] = swapped["files"]["labels"]
    with pytest.raises(ValueError, match="inconsistent"):
        MonthDump.from_dict(swapped)
    elsewhere = dump.to_dict()
    elsewhere["month"] = "2022-09"
    with pytest.raises(ValueError, match="inconsistent"):
        MonthDump.from_dict(elsewhere)


def test_combined_checksum_hash() -> None:
    one = combined_checksum_sha256({"discogs_20260101_CHECKSUM.txt": b"x"})
    assert one == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"  # sha256(x)
    two = combined_checksum_sha256({"a": b"x", "b": b"y"})
    assert two != one and two == combined_checksum_sha256({"b": b"y", "a": b"x"})
    assert combined_checksum_sha256({"a": b"x", "b": b"z"}) != two
