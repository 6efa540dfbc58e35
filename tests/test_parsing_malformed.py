"""Malformed input: truncated files, broken records, invalid bytes, hostile XML, tolerance."""

from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path

import pytest
from parsing_helpers import SAMPLES, write_xml

from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.parsing import DumpParseError, parse_dump


@pytest.fixture
def releases_xml(sample_dumps: Path) -> bytes:
    return gzip.decompress((sample_dumps / SAMPLES / "discogs_20200806_releases.xml.gz")
                           .read_bytes())


@pytest.fixture
def previous_output(tmp_path: Path) -> Path:
    """A month directory holding earlier output that a failed parse must leave alone."""
    out = tmp_path / "parsed" / "2020-08" / "releases"
    out.mkdir(parents=True)
    (out / "release.parquet").write_bytes(b"previous")
    return out


def _assert_untouched(out: Path) -> None:
    assert [p.name for p in out.iterdir()] == ["release.parquet"]
    assert (out / "release.parquet").read_bytes() == b"previous"
    assert [p.name for p in out.parent.iterdir()] == ["releases"]  # no staging left behind


def _start_of(data: bytes, release_id: int) -> int:
    return data.index(f'<release id="{release_id}"'.encode())


def _ids_before(data: bytes, offset: int) -> int:
    return int(re.findall(rb'<release id="(\d+)"', data[:offset])[-1])


def test_truncated_gzip_names_file_offset_and_record(tmp_path: Path, sample_dumps: Path,
                                                     previous_output: Path) -> None:
    gz = (sample_dumps / SAMPLES / "discogs_20200806_releases.xml.gz").read_bytes()
    path = tmp_path / "discogs_20200806_releases.xml.gz"
    path.write_bytes(gz[: len(gz) // 2])
    with pytest.raises(DumpParseError) as err:
        parse_dump(path, previous_output, workers=0)
    assert isinstance(err.value, NonRetryableError)
    assert path.name in str(err.value) and "truncated" in str(err.value)
    assert err.value.offset is not None and err.value.offset > 0
    assert err.value.record_id is not None
    _assert_untouched(previous_output)


def test_truncated_xml_names_the_end_and_last_record(tmp_path: Path, releases_xml: bytes,
                                                     previous_output: Path) -> None:
    cut = len(releases_xml) // 2  # far from the end
    cut = releases_xml.index(b"\n", cut) + 1  # a clean line end: only </releases> is missing
    path = write_xml(tmp_path, "cut.xml", releases_xml[:cut])
    with pytest.raises(DumpParseError, match=r"cut\.xml: file ends without </releases>") as err:
        parse_dump(path, previous_output, workers=2)
    assert err.value.offset == cut - 1
    assert err.value.record_id == _ids_before(releases_xml, cut)
    _assert_untouched(previous_output)


@pytest.mark.parametrize(("engine", "workers"),
                         [("fast", 0), ("reference", 0), ("fast", 2), ("reference", 2)])
def test_broken_record_is_localised(tmp_path: Path, releases_xml: bytes, previous_output: Path,
                                    engine: str, workers: int) -> None:
    victim = _ids_before(releases_xml, len(releases_xml) // 2)
    start = _start_of(releases_xml, victim)
    broken = releases_xml[:start] + releases_xml[start:].replace(b"</title>", b"</titl>", 1)
    path = write_xml(tmp_path, "broken.xml.gz", broken)
    with pytest.raises(DumpParseError) as err:
        parse_dump(path, previous_output, workers=workers, engine=engine,
                   chunk_bytes=512 << 10)
    assert (err.value.offset, err.value.record_id) == (start, victim)
    assert "broken.xml.gz" in str(err.value) and "malformed XML" in str(err.value)
    _assert_untouched(previous_output)


def test_invalid_utf8_is_a_broken_record_and_tolerance_skips_it(
        tmp_path: Path, releases_xml: bytes, caplog: pytest.LogCaptureFixture) -> None:
    victims = [_ids_before(releases_xml, len(releases_xml) // 3),
               _ids_before(releases_xml, 2 * len(releases_xml) // 3)]
    data = releases_xml
    for victim in victims:
        start = _start_of(data, victim)
        data = data[:start] + data[start:].replace(b"</title>", b"\xff\xfe</title>", 1)
    path = write_xml(tmp_path, "bytes.xml", data)
    with pytest.raises(DumpParseError) as err:
        parse_dump(path, tmp_path / "out0", workers=0)
    assert (err.value.offset, err.value.record_id) == (_start_of(data, victims[0]), victims[0])
    with pytest.raises(DumpParseError, match="more than the 1 tolerated"):
        parse_dump(path, tmp_path / "out1", workers=0, max_bad_records=1)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        result = parse_dump(path, tmp_path / "out2", workers=0, max_bad_records=2)
    assert result.records == 998
    assert [b.record_id for b in result.bad_records] == victims
    assert [b.offset for b in result.bad_records] == [_start_of(data, v) for v in victims]
    assert sum("skipped broken record" in r.message for r in caplog.records) == 2
    assert result.row_counts["release"] == 998


@pytest.mark.parametrize(("record", "problem"), [
    ("<release><title>no id</title></release>", "record has no id"),
    ('<release id="5"><master_id>abc</master_id></release>', "not an integer"),
    ('<release id="5"><title>&xxe;</title></release>', "malformed XML"),
])
def test_bad_values_are_broken_records(tmp_path: Path, record: str, problem: str) -> None:
    text = '<releases>\n<release id="1"/>\n' + record + "\n</releases>\n"
    path = write_xml(tmp_path, "r.xml", text)
    for engine in ("fast", "reference"):
        with pytest.raises(DumpParseError, match=problem) as err:
            parse_dump(path, tmp_path / engine, workers=0, engine=engine)
        assert err.value.offset == text.index(record)


def test_doctype_and_entities_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    text = (f'<?xml version="1.0"?>\n<!DOCTYPE releases [<!ENTITY xxe SYSTEM "file://{secret}">'
            '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n<releases>\n'
            '<release id="1"><title>&xxe;&b;</title></release>\n</releases>\n')
    path = write_xml(tmp_path, "evil.xml", text)
    with pytest.raises(DumpParseError, match="DTD or entities; refused"):
        parse_dump(path, tmp_path / "out", workers=0)
    assert not (tmp_path / "out").exists()


def test_wrong_entity_and_non_dump_files(tmp_path: Path) -> None:
    path = write_xml(tmp_path, "l.xml", "<labels>\n</labels>\n")
    with pytest.raises(DumpParseError, match="holds labels, not releases"):
        parse_dump(path, tmp_path / "out", entity="releases", workers=0)
    html = write_xml(tmp_path, "page.xml", "<html><body>nope</body></html>")
    with pytest.raises(DumpParseError, match="<html> is not a Discogs dump"):
        parse_dump(html, tmp_path / "out", workers=0)
    with pytest.raises(DumpParseError, match="truncated"):
        parse_dump(write_xml(tmp_path, "t.xml", "<releases>\n"), tmp_path / "out", workers=0)
