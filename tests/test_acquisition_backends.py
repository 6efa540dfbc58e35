"""The three backends of DumpSource, the real listings over HTTP, and the Dagster resource."""

from dataclasses import replace
from pathlib import Path

# No `from __future__ import annotations` here: Dagster resolves the annotations of the
# asset defined inside a test at definition time.
import dagster as dg
import httpx
import pytest
from dagster import AssetExecutionContext
from pytest_httpserver import HTTPServer

from discogs_assets.lib.acquisition import (
    DumpNotPublished,
    DumpSource,
    ListingError,
    parse_checksum,
)
from discogs_assets.lib.acquisition.mirror_server import MirrorServer
from discogs_assets.lib.acquisition.source import HttpDumpSource, LocalDirectorySource
from resources import build_resources
from resources.dump_source import DumpSourceResource
from tests.acquisition_helpers import (
    SAMPLE_MONTH,
    Mirror,
    Sleeps,
    build_mirror,
    http_source,
)


@pytest.fixture
def mirror(tmp_path: Path, sample_dumps: Path) -> Mirror:
    return build_mirror(tmp_path / "mirror", sample_dumps)


def download_month(source: DumpSource, dest: Path) -> dict[str, str]:
    dump = source.find_month(SAMPLE_MONTH)
    sums = parse_checksum(source.fetch_bytes(dump.checksum_file).decode())
    results = {
        f.name: source.download(f, dest, expected_sha256=sums[f.name]).sha256
        for kind, f in dump.files.items()
        if kind != "CHECKSUM"
    }
    assert results == sums
    return results


def test_file_url_backend(mirror: Mirror, tmp_path: Path) -> None:
    (mirror.folder() / "README.txt").write_text("not a dump file")
    with DumpSource.from_url(mirror.root.as_uri()) as source:
        assert isinstance(source, LocalDirectorySource)
        dump = source.find_month(SAMPLE_MONTH)
        assert all(f.size_exact for f in dump.files.values())
        download_month(source, tmp_path / "raw")
        assert source.requests == 0
        with pytest.raises(DumpNotPublished, match="no dump published for 2020-09"):
            source.find_month("2020-09")


def test_file_url_backend_resumes_a_part_file(mirror: Mirror, tmp_path: Path) -> None:
    name = next(iter(mirror.sums))
    data = (mirror.folder() / name).read_bytes()
    dest = tmp_path / "raw"
    dest.mkdir()
    (dest / f"{name}.part").write_bytes(data[:1000])
    with DumpSource.from_url(mirror.root.as_uri()) as source:
        file = source.find_month(SAMPLE_MONTH).files[name.split("_")[2].split(".")[0]]
        result = source.download(file, dest, expected_sha256=mirror.sums[name])
    assert result.resumed_from == 1000 and (dest / name).read_bytes() == data


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with (
        DumpSource.from_url((tmp_path / "nowhere").as_uri()) as source,
        pytest.raises(Exception, match="does not exist"),
    ):
        source.find_month(SAMPLE_MONTH)


def test_s3_listing_detected_from_the_response(mirror: Mirror, tmp_path: Path) -> None:
    # five keys, two per page: pagination by marker takes three listing requests
    with (
        MirrorServer(mirror.root, listing_format="s3", s3_max_keys=2) as server,
        http_source(server.url, Sleeps()) as source,
    ):
        download_month(source, tmp_path / "raw")
        listings = [r for r in server.requests if r.path.startswith("/?prefix=")]
        assert len(listings) == 3 and "marker=" in listings[2].path
        files = [r.path for r in server.requests if r.path.startswith("/data/")]
        assert len(files) == 5  # CHECKSUM + 4 data files, S3-style paths


def test_forced_format_that_does_not_match_is_refused(mirror: Mirror) -> None:
    with (
        MirrorServer(mirror.root, listing_format="s3") as server,
        http_source(server.url, Sleeps(), listing_format="html") as source,
        pytest.raises(ListingError, match="set it to 's3'"),
    ):
        source.find_month(SAMPLE_MONTH)


def test_download_without_listing_detects_the_format_once(mirror: Mirror, tmp_path: Path) -> None:
    """A later step may rebuild the DumpFile from metadata, without its URL."""
    with MirrorServer(mirror.root, listing_format="s3") as server:
        with http_source(server.url, Sleeps()) as lister:
            dump = lister.find_month(SAMPLE_MONTH)
        file = dump.files["labels"]
        with http_source(server.url, Sleeps()) as source:
            result = source.download(
                replace(file, url=""), tmp_path / "raw", expected_sha256=mirror.sums[file.name]
            )
        assert result.requests == 2  # one listing to learn the protocol, one file


def test_mirror_server_refuses_foreign_paths(mirror: Mirror) -> None:
    with MirrorServer(mirror.root) as server:
        for path in (
            "?download=data%2F2020%2F..%2F..%2Fetc%2Fpasswd",
            "?download=data%2F2020%2Fdiscogs_20200806_CHECKSUM.txt%2F..",
            "etc/passwd",
        ):
            assert httpx.get(server.url + path).status_code == 404


def test_real_html_listing_over_http(httpserver: HTTPServer, sample_dumps: Path) -> None:
    page = (sample_dumps / "dsub-io_open-discogs-batch" / "DiscogsData2026.html").read_text()
    httpserver.expect_request("/", query_string={"prefix": "data/2026/"}).respond_with_data(
        page, content_type="text/html"
    )
    with http_source(httpserver.url_for("/"), Sleeps()) as source:
        assert isinstance(source, HttpDumpSource)
        dump = source.find_month("2026-07")
        assert dump.date == "20260701" and dump.verified and dump.missing_kinds == ()
        assert dump.files["releases"].url.endswith(
            "?download=data%2F2026%2Fdiscogs_20260701_releases.xml.gz"
        )
        assert 10.4e9 <= dump.total_size() <= 13e9  # upper estimate, for the disk check
        with pytest.raises(DumpNotPublished, match="no dump published for 2026-06"):
            source.find_month("2026-06")
        assert source.requests == 2


def test_real_s3_listing_over_http(httpserver: HTTPServer, sample_dumps: Path) -> None:
    # the legacy bucket listing (prefix data/, every year); the server ignores the prefix
    body = (sample_dumps / "dsub-io_go-open-discogs-batch" / "data.xml").read_bytes()
    httpserver.expect_request("/").respond_with_data(body, content_type="application/xml")
    with http_source(httpserver.url_for("/"), Sleeps()) as source:
        dump = source.find_month("2019-10")
        assert dump.date == "20191010" and dump.other_dates == ("20191003",)
        assert dump.files["labels"].url == httpserver.url_for(
            "/data/2019/discogs_20191010_labels.xml.gz"
        )
        with pytest.raises(DumpNotPublished, match="2022-07"):
            source.find_month("2022-07")


def test_unsupported_urls() -> None:
    with pytest.raises(ValueError, match="unsupported dump source URL"):
        DumpSource.from_url("ftp://example.org/")
    with pytest.raises(ValueError, match="listing_format"):
        DumpSource.from_url("https://example.org/", listing_format="json")


def test_resource_builds_the_source_from_the_environment(
    mirror: Mirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCOGS_DUMPS_URL", mirror.root.as_uri())
    resource = build_resources()["dump_source"]
    assert resource.url == mirror.root.as_uri()
    with resource.get_source() as source:
        assert source.find_month(SAMPLE_MONTH).verified
    monkeypatch.delenv("DISCOGS_DUMPS_URL")
    assert build_resources()["dump_source"].url == "https://data.discogs.com/"
    explicit = DumpSourceResource(url="http://127.0.0.1:9/", max_attempts=2)
    with explicit.get_source() as source:
        assert isinstance(source, HttpDumpSource)
        assert source.settings.retry.max_attempts == 2
    # The key a Retry-After is recorded under: one wait per host, shared by every process.
    assert explicit.host() == "127.0.0.1"
    assert DumpSourceResource(url=mirror.root.as_uri()).host() == "file"


def test_resource_inside_a_dagster_run(mirror: Mirror, tmp_path: Path) -> None:
    @dg.asset
    def probe(context: AssetExecutionContext, dump_source: DumpSourceResource) -> str:
        with dump_source.get_source(log=context.log) as source:
            dump = source.find_month(SAMPLE_MONTH)
            name = dump.files["labels"].name
            source.download(dump.files["labels"], tmp_path / "raw")
            return name

    resource = DumpSourceResource(url=mirror.root.as_uri(), stall_timeout_seconds=5)
    result = dg.materialize([probe], resources={"dump_source": resource})
    assert result.success
    assert (tmp_path / "raw" / result.output_for_node("probe")).exists()
