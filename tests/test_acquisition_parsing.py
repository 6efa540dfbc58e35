"""Pure parts of acquisition: names, CHECKSUM, listings, month selection, retry maths."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from discogs_assets.lib.acquisition import (
    ChecksumError,
    DumpFile,
    InvalidDumpName,
    ListingError,
    RateLimited,
    TransientDownloadError,
    parse_checksum,
    parse_dump_name,
    sha256_file,
)
from discogs_assets.lib.acquisition.checksum import file_sha256, record_sha256
from discogs_assets.lib.acquisition.listing import (
    parse_html_listing,
    parse_human_size,
    parse_s3_listing,
)
from discogs_assets.lib.acquisition.names import parse_key
from discogs_assets.lib.acquisition.retry import retry_call
from discogs_assets.lib.errors import NonRetryableError, RetryableError
from discogs_assets.lib.http_retry import RetryPolicy, backoff_delay, parse_retry_after

SHA_A = "a" * 64
SHA_B = "0123456789abcdef" * 4


# -- names --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "discogs_20260115_releases.xml.gz",
        "discogs_20080309_CHECKSUM.txt",
        "discogs_20191010_labels.xml.gz",
    ],
)
def test_valid_dump_names(name: str) -> None:
    parsed = parse_dump_name(name)
    assert parsed.name == name and len(parsed.date) == 8


@pytest.mark.parametrize(
    "name",
    [
        "../discogs_20260115_releases.xml.gz",
        "discogs_20260115_releases.xml.gz/..",
        "data/2026/discogs_20260115_releases.xml.gz",
        "discogs_20260115_releases.xml.gz\n",
        "discogs_20260115_tracks.xml.gz",
        "discogs_20260115_checksum.txt",
        "discogs_20261315_labels.xml.gz",  # month 13
        "discogs_20260230_labels.xml.gz",  # 30 February
        "discogs_２0260115_labels.xml.gz",  # non-ASCII digit
        "discogs_20260115_labels.xml",
        "",
    ],
)
def test_invalid_dump_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidDumpName):
        parse_dump_name(name)
    assert issubclass(InvalidDumpName, NonRetryableError)


def test_keys_must_sit_in_their_year_folder() -> None:
    assert parse_key("data/2026/discogs_20260115_labels.xml.gz").kind == "labels"
    for bad in (
        "data/2025/discogs_20260115_labels.xml.gz",
        "data/2026/../x",
        "/data/2026/discogs_20260115_labels.xml.gz",
    ):
        with pytest.raises(InvalidDumpName):
            parse_key(bad)


# -- CHECKSUM -----------------------------------------------------------------------------------
def test_checksum_one_and_two_spaces_any_order() -> None:
    text = (
        f"{SHA_B.upper()} discogs_20260101_releases.xml.gz\r\n"
        f"{SHA_A}  discogs_20260101_artists.xml.gz\n\n"
    )
    sums = parse_checksum(text.encode(), source_name="discogs_20260101_CHECKSUM.txt")
    assert sums == {
        "discogs_20260101_releases.xml.gz": SHA_B,  # lower-cased
        "discogs_20260101_artists.xml.gz": SHA_A,
    }


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"{SHA_A}   discogs_20260101_labels.xml.gz", "line 1"),  # three spaces
        (f"{SHA_A}\tdiscogs_20260101_labels.xml.gz", "line 1"),
        (f"{SHA_A[:-1]}  discogs_20260101_labels.xml.gz", "line 1"),  # 63 hex digits
        (f"{SHA_A}  discogs_20260101_labels.xml.gz\nnot a line", "line 2"),
        (f"{SHA_A}  ../../etc/passwd", "not a Discogs dump file name"),
        (f"{SHA_A}  discogs_20260101_labels.xml.gz extra", "line 1"),
        (
            f"{SHA_A}  discogs_20260101_labels.xml.gz\n{SHA_B}  discogs_20260101_labels.xml.gz",
            "listed twice",
        ),
        ("", "no checksum lines"),
    ],
)
def test_malformed_checksum_is_rejected_with_the_line(text: str, fragment: str) -> None:
    with pytest.raises(ChecksumError) as err:
        parse_checksum(text.encode(), source_name="discogs_20260101_CHECKSUM.txt")
    assert "discogs_20260101_CHECKSUM.txt" in str(err.value)
    assert fragment in str(err.value)


def _flipped(body: bytes, offset: int) -> bytes:
    """One byte inverted, as a damaged transfer (or the mirror's corrupt fault) delivers it."""
    return body[:offset] + bytes([body[offset] ^ 0xFF]) + body[offset + 1:]


_LINE_1 = f"{SHA_A}  discogs_20260101_labels.xml.gz\n".encode()  # 97 bytes
_CHECKSUM_BYTES = _LINE_1 + f"{SHA_B}  discogs_20260101_artists.xml.gz\n".encode()  # 195


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        # the 11th hex digit of line 2 inverted: 'a' (0x61) became 0x9e
        (_flipped(_CHECKSUM_BYTES, 107), ("byte offset 107 (line 2)", "holds 9e",
                                          "invalid start byte")),
        # the file saved as UTF-16 (a byte-order mark, then NULs between the characters)
        (_CHECKSUM_BYTES.decode().encode("utf-16"), ("byte offset 0 (line 1)", "holds ff")),
        # cut inside a multi-byte character at the end
        (_CHECKSUM_BYTES + b"\xe2\x82", ("byte offset 195 (line 3)", "holds e2 82",
                                          "unexpected end of data")),
    ],
)
def test_checksum_that_is_not_text_names_file_offset_and_byte(
    body: bytes, fragments: tuple[str, ...]
) -> None:
    with pytest.raises(ChecksumError) as err:
        parse_checksum(body, source_name="discogs_20260101_CHECKSUM.txt")
    message = str(err.value)
    assert message.startswith("discogs_20260101_CHECKSUM.txt is not text")
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(err.value, NonRetryableError)


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_recorded_sha256_is_believed_only_while_the_file_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "discogs_20260101_labels.xml.gz"
    path.write_bytes(b"abc")
    assert file_sha256(path) == sha256_file(path)  # hashed, and recorded
    assert (tmp_path / f".{path.name}.sha256.json").exists()
    record_sha256(path, "0" * 64)  # a record for the file as it is now is believed:
    assert file_sha256(path) == "0" * 64  # the file is not read again
    path.write_bytes(b"abcd")  # another size
    assert file_sha256(path) == sha256_file(path)
    record_sha256(path, "0" * 64)
    path.write_bytes(b"abce")  # the same size, written later (mtimes tick every few ms)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert file_sha256(path) == sha256_file(path)


# -- listings -----------------------------------------------------------------------------------
def test_real_html_listing(sample_dumps: Path) -> None:
    html = (sample_dumps / "dsub-io_open-discogs-batch" / "DiscogsData2026.html").read_text()
    listing = parse_html_listing(html)
    by_kind = {f.kind: f for f in listing.files}
    assert sorted(by_kind) == ["CHECKSUM", "artists", "labels", "masters", "releases"]
    assert {f.date for f in listing.files} == {"20260701"}
    checksum = by_kind["CHECKSUM"]
    assert (checksum.size, checksum.size_exact) == (388, True)
    releases = by_kind["releases"]
    assert not releases.size_exact
    assert releases.size_matches(10_400_000_000) and releases.size_matches(int(10.4 * 2**30))
    assert not releases.size_matches(10_300_000_000)
    assert releases.key == "data/2026/discogs_20260701_releases.xml.gz"
    assert checksum.last_modified == datetime(2026, 7, 1, 19, 17, 9, tzinfo=UTC)
    assert checksum.last_modified > releases.last_modified  # CHECKSUM written last


def test_html_listing_refuses_unknown_lines_and_ignores_foreign_names() -> None:
    head = "<pre>\n"
    good = (
        "2026-07-01 19:17:09             388 B          "
        '<a href="?download=data%2F2026%2Fdiscogs_20260701_CHECKSUM.txt">'
        "discogs_20260701_CHECKSUM.txt</a>\n"
    )
    foreign = (
        "2026-07-01 19:17:09             1 B            "
        '<a href="?download=data%2F2026%2F..%2Fevil.sh">evil.sh</a>\n'
    )
    listing = parse_html_listing(head + good + foreign + "</pre>")
    assert [f.name for f in listing.files] == ["discogs_20260701_CHECKSUM.txt"]
    assert listing.ignored == ["data/2026/../evil.sh"]
    with pytest.raises(ListingError, match="line 2"):
        parse_html_listing(head + good.replace("388 B", "lots"))
    with pytest.raises(ListingError, match="not a dump listing"):
        parse_html_listing("<html>maintenance</html>")


def test_human_sizes() -> None:
    assert parse_human_size("388 B") == (388, 388, True)
    low, high, exact = parse_human_size("85.4 MB")
    assert not exact and low <= 85_400_000 and high >= int(85.4 * 2**20)
    with pytest.raises(ValueError):
        parse_human_size("12 parsecs")


def test_real_s3_listing(s3_files: list) -> None:
    assert len(s3_files) == 777
    assert all(f.size_exact for f in s3_files)
    last = max(s3_files, key=lambda f: f.key)
    assert last.name == "discogs_20221101_releases.xml.gz" and last.size == 11_475_199_009


def test_s3_listing_is_parsed_without_entities_or_dtd() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<ListBucketResult><IsTruncated>true</IsTruncated><Contents>"
        b"<Key>data/2026/discogs_20260101_labels.xml.gz</Key><Size>1</Size>"
        b"<LastModified>&e;</LastModified></Contents></ListBucketResult>"
    )
    (entry,) = parse_s3_listing(evil).files
    assert entry.last_modified is None  # the external entity was not expanded
    with pytest.raises(ListingError, match="ListBucketResult"):
        parse_s3_listing(b"<Error><Code>AccessDenied</Code></Error>")
    with pytest.raises(ListingError, match="well-formed"):
        parse_s3_listing(b"<ListBucketResult>")


def test_dump_file_from_name_size_and_key() -> None:
    """What a later step rebuilds from stored metadata."""
    f = DumpFile(
        "discogs_20260115_labels.xml.gz", 85_400_000, "data/2026/discogs_20260115_labels.xml.gz"
    )
    assert (f.date, f.kind, f.size_exact) == ("20260115", "labels", True)
    with pytest.raises(InvalidDumpName):
        DumpFile("discogs_20260115_labels.xml.gz", 1, "data/2026/../../etc/passwd")


# -- retries ------------------------------------------------------------------------------------
def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Thu, 01 Jan 2026 13:00:00 GMT", now) == 3600.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_grows_exponentially_with_jitter() -> None:
    config = RetryPolicy(base_delay=1.0, max_delay=10.0, jitter=0.5)
    assert [backoff_delay(n, config, lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 10]
    assert backoff_delay(3, config, lambda: 1.0) == 2.0  # at most half taken off


def test_retry_call_bounds_attempts_and_honours_retry_after() -> None:
    waits: list[float] = []
    calls = iter(
        [TransientDownloadError("reset"), TransientDownloadError("busy", retry_after=7), "ok"]
    )

    def flaky() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    config = RetryPolicy(max_attempts=3, base_delay=0.5, jitter=0.0)
    assert retry_call(flaky, config, what="x", sleep=waits.append) == "ok"
    assert waits == [0.5, 7]

    def always() -> str:
        raise TransientDownloadError("reset by peer")

    with pytest.raises(TransientDownloadError, match="giving up after 3 attempts") as err:
        retry_call(always, config, what="x", sleep=waits.append)
    assert isinstance(err.value, RetryableError)

    def limited() -> str:
        raise TransientDownloadError("429", retry_after=3600)

    waits.clear()
    with pytest.raises(RateLimited, match="wait 3600 s") as limit:
        retry_call(limited, RetryPolicy(max_retry_after=600), what="x", sleep=waits.append)
    assert limit.value.retry_after == 3600 and waits == []
