"""Downloads against a real local stand-in of the host, with injected faults.

Each scenario checks the end state (verified file or a clear failure), how many requests the
server saw, and that the final name never holds a partial file.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import dagster as dg
import pytest

from discogs_assets.definitions import defs
from discogs_assets.lib.acquisition import (
    ChecksumMismatch,
    DownloadFailed,
    DumpIncomplete,
    DumpSource,
    InsufficientDiskSpace,
    RateLimited,
    TransientDownloadError,
    parse_checksum,
)
from discogs_assets.lib.acquisition.mirror_server import Fault, FaultPlan, MirrorServer
from discogs_assets.lib.errors import NonRetryableError, RetryableError
from discogs_assets.lib.lifecycle import MonthLifecycle
from discogs_assets.lib.warehouse import make_engine
from tests.acquisition_helpers import (
    SAMPLE_DATE,
    SAMPLE_MONTH,
    Mirror,
    Sleeps,
    assert_no_partial_under_final_name,
    build_mirror,
    http_source,
)

RELEASES = f"discogs_{SAMPLE_DATE}_releases.xml.gz"  # 757,043 bytes


@pytest.fixture
def mirror(tmp_path: Path, sample_dumps: Path) -> Mirror:
    return build_mirror(tmp_path / "mirror", sample_dumps)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "raw" / SAMPLE_MONTH


def downloads(server: MirrorServer) -> list:
    return [r for r in server.requests if "download=" in r.path]


def releases_file(source: DumpSource) -> object:
    return source.find_month(SAMPLE_MONTH).files["releases"]


def run_fault(
    mirror: Mirror, dest: Path, *faults: Fault, range_support: bool = True, **options: object
) -> tuple[MirrorServer, Sleeps, object]:
    """Find the month, then download the releases file under ``faults``.

    Returns the (stopped) server, the recorded sleeps, and the result or the raised error.
    """
    sleeps = Sleeps()
    plan = FaultPlan(*faults)
    with (
        MirrorServer(mirror.root, faults=plan, range_support=range_support) as server,
        http_source(server.url, sleeps, **options) as source,
    ):
        file = releases_file(source)
        try:
            outcome: object = source.download(file, dest, expected_sha256=mirror.sums[RELEASES])
        except Exception as exc:  # the scenario decides what is expected
            outcome = exc
    assert plan.pending == 0, "every injected fault fired"
    assert_no_partial_under_final_name(dest, RELEASES, mirror.sums[RELEASES])
    return server, sleeps, outcome


def assert_verified(outcome: object, mirror: Mirror, dest: Path) -> None:
    assert not isinstance(outcome, Exception), outcome
    assert outcome.sha256 == mirror.sums[RELEASES] and outcome.verified  # type: ignore[attr-defined]
    assert (dest / RELEASES).stat().st_size == mirror.sizes[RELEASES]
    assert not (dest / f"{RELEASES}.part").exists()


def test_normal_month_then_rerun_makes_no_download_request(mirror: Mirror, dest: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    with (
        MirrorServer(mirror.root) as server,
        http_source(server.url, Sleeps(), progress_interval=0) as source,
    ):
        dump = source.find_month(SAMPLE_MONTH)
        assert dump.verified and dump.missing_kinds == ()
        body = source.fetch_bytes(dump.checksum_file)
        sums = parse_checksum(body, source_name=dump.checksum_file.name)
        assert sums == mirror.sums
        for kind in ("labels", "artists", "masters", "releases"):
            file = dump.files[kind]
            result = source.download(
                file,
                dest,
                expected_sha256=sums[file.name],
                progress=lambda done, total, mbps, eta: seen.append((done, total)),
            )
            assert result.verified and not result.skipped and result.requests == 1
            assert result.bytes == mirror.sizes[file.name] == result.transferred
            assert result.mb_per_s > 0
        assert len(server.requests) == 6  # listing + CHECKSUM + 4 files
        assert all(r.headers["User-Agent"].startswith("discogs-pipeline/") for r in server.requests)
        assert seen[-1] == (mirror.sizes[RELEASES], mirror.sizes[RELEASES])
    with MirrorServer(mirror.root) as server, http_source(server.url, Sleeps()) as source:
        dump = source.find_month(SAMPLE_MONTH)
        results = [
            source.download(f, dest, expected_sha256=sums[f.name])
            for kind, f in dump.files.items()
            if kind != "CHECKSUM"
        ]
        assert all(r.skipped and r.requests == 0 for r in results)
        assert downloads(server) == []  # only the listing


def test_dropped_connection_resumes_with_range(mirror: Mirror, dest: Path) -> None:
    server, sleeps, outcome = run_fault(mirror, dest, Fault("drop", RELEASES, after_bytes=300_000))
    assert_verified(outcome, mirror, dest)
    first, second = downloads(server)
    assert "Range" not in first.headers and first.status == 200
    assert second.headers["Range"] == "bytes=300000-" and second.status == 206
    assert outcome.resumed_from == 300_000 and outcome.requests == 2  # type: ignore[attr-defined]
    assert len(sleeps.waits) == 1  # one backoff between the attempts


def test_dropped_connection_without_range_support_restarts(mirror: Mirror, dest: Path) -> None:
    server, _, outcome = run_fault(
        mirror, dest, Fault("drop", RELEASES, after_bytes=300_000), range_support=False
    )
    assert_verified(outcome, mirror, dest)
    _, second = downloads(server)
    assert second.headers["Range"] == "bytes=300000-" and second.status == 200
    assert outcome.resumed_from == 0  # type: ignore[attr-defined]
    assert outcome.transferred == 300_000 + mirror.sizes[RELEASES]  # type: ignore[attr-defined]


def test_429_with_short_retry_after_is_honoured(mirror: Mirror, dest: Path) -> None:
    fault = Fault("status", RELEASES, status=429, headers={"Retry-After": "2"})
    server, sleeps, outcome = run_fault(mirror, dest, fault)
    assert_verified(outcome, mirror, dest)
    assert [r.status for r in downloads(server)] == [429, 200]
    assert sleeps.waits == [2.0]


def test_503_with_http_date_retry_after(mirror: Mirror, dest: Path) -> None:
    fault = Fault(
        "status", RELEASES, status=503, headers={"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}
    )  # already past
    server, sleeps, outcome = run_fault(mirror, dest, fault)
    assert_verified(outcome, mirror, dest)
    assert [r.status for r in downloads(server)] == [503, 200] and sleeps.waits == [0.0]


def test_429_beyond_the_ceiling_fails_with_the_wait(mirror: Mirror, dest: Path) -> None:
    fault = Fault("status", RELEASES, status=429, headers={"Retry-After": "3600"})
    server, sleeps, outcome = run_fault(mirror, dest, fault, max_retry_after=600)
    assert isinstance(outcome, RateLimited) and isinstance(outcome, RetryableError)
    assert outcome.retry_after == 3600 and "3600 s" in str(outcome)
    assert len(downloads(server)) == 1 and sleeps.waits == []
    assert not (dest / RELEASES).exists()


def test_500s_then_success_backs_off(mirror: Mirror, dest: Path) -> None:
    server, sleeps, outcome = run_fault(mirror, dest, Fault("status", RELEASES, times=2))
    assert_verified(outcome, mirror, dest)
    assert [r.status for r in downloads(server)] == [500, 500, 200]
    assert len(sleeps.waits) == 2 and sleeps.waits[1] > sleeps.waits[0] * 0.99


def test_persistent_500s_give_up_after_max_attempts(mirror: Mirror, dest: Path) -> None:
    server, sleeps, outcome = run_fault(
        mirror, dest, Fault("status", RELEASES, times=3), max_attempts=3
    )
    assert isinstance(outcome, TransientDownloadError) and isinstance(outcome, RetryableError)
    assert "giving up after 3 attempts" in str(outcome) and "HTTP 500" in str(outcome)
    assert len(downloads(server)) == 3 and len(sleeps.waits) == 2
    assert not (dest / RELEASES).exists()


def test_corrupted_bytes_are_downloaded_once_more(mirror: Mirror, dest: Path) -> None:
    server, _, outcome = run_fault(mirror, dest, Fault("corrupt", RELEASES))
    assert_verified(outcome, mirror, dest)
    assert [(r.status, "Range" in r.headers) for r in downloads(server)] == [(200, False)] * 2


def test_corrupted_twice_fails_with_both_hashes(mirror: Mirror, dest: Path) -> None:
    server, _, outcome = run_fault(mirror, dest, Fault("corrupt", RELEASES, times=2))
    assert isinstance(outcome, ChecksumMismatch) and isinstance(outcome, NonRetryableError)
    message = str(outcome)
    assert mirror.sums[RELEASES] in message and RELEASES in message
    assert len(set(re.findall(r"[0-9a-f]{64}", message))) == 2
    assert len(downloads(server)) == 2
    assert not (dest / RELEASES).exists() and not (dest / f"{RELEASES}.part").exists()


def test_truncated_body_is_resumed(mirror: Mirror, dest: Path) -> None:
    size = mirror.sizes[RELEASES]
    server, _, outcome = run_fault(mirror, dest, Fault("drop", RELEASES, after_bytes=size - 10))
    assert_verified(outcome, mirror, dest)
    assert downloads(server)[1].headers["Range"] == f"bytes={size - 10}-"


def test_short_content_length_is_caught_by_the_checksum(mirror: Mirror, dest: Path) -> None:
    server, _, outcome = run_fault(mirror, dest, Fault("bad_length", RELEASES, length_delta=-1000))
    assert_verified(outcome, mirror, dest)
    assert len(downloads(server)) == 2  # the short file failed verification once


def test_long_content_length_resumes_then_restarts(mirror: Mirror, dest: Path) -> None:
    server, _, outcome = run_fault(mirror, dest, Fault("bad_length", RELEASES, length_delta=1000))
    assert_verified(outcome, mirror, dest)
    size = mirror.sizes[RELEASES]
    # body ended early -> resume at the end -> 416 -> the .part is dropped -> full download
    assert [(r.status, r.headers.get("Range")) for r in downloads(server)] == [
        (200, None),
        (416, f"bytes={size}-"),
        (200, None),
    ]


def test_stalled_stream_times_out_and_resumes(mirror: Mirror, dest: Path) -> None:
    fault = Fault("stall", RELEASES, after_bytes=100_000, stall_seconds=10)
    server, _, outcome = run_fault(mirror, dest, fault, stall_timeout=0.5)
    assert_verified(outcome, mirror, dest)
    assert [r.status for r in downloads(server)] == [200, 206]
    assert outcome.resumed_from == 100_000  # type: ignore[attr-defined]


def test_checksum_published_after_the_data_files(tmp_path: Path, sample_dumps: Path) -> None:
    mirror = build_mirror(tmp_path / "mirror", sample_dumps, checksum=False)
    with MirrorServer(mirror.root) as server, http_source(server.url, Sleeps()) as source:
        with pytest.raises(DumpIncomplete, match="CHECKSUM not yet published"):
            source.find_month(SAMPLE_MONTH)
        assert len(server.requests) == 1  # a clear outcome, not a retry loop
        mirror.publish_checksum()
        dump = source.find_month(SAMPLE_MONTH)
        assert dump.verified and dump.checksum_file is not None
        assert len(server.requests) == 2


def test_missing_file_is_not_retried(mirror: Mirror, dest: Path) -> None:
    with MirrorServer(mirror.root) as server, http_source(server.url, Sleeps()) as source:
        file = releases_file(source)
        (mirror.folder() / RELEASES).unlink()
        with pytest.raises(DownloadFailed, match="HTTP 404"):
            source.download(file, dest, expected_sha256=mirror.sums[RELEASES])
        assert len(downloads(server)) == 1


def test_listing_rate_limit_beyond_ceiling(mirror: Mirror) -> None:
    plan = FaultPlan(Fault("status", "listing", status=429, headers={"Retry-After": "3500"}))
    with (
        MirrorServer(mirror.root, faults=plan) as server,
        http_source(server.url, Sleeps()) as source,
    ):
        with pytest.raises(RateLimited, match="3500 s") as err:
            source.find_month(SAMPLE_MONTH)
        assert err.value.retry_after == 3500 and len(server.requests) == 1


def test_request_budget_stops_a_retry_storm(mirror: Mirror, dest: Path) -> None:
    server, _, outcome = run_fault(
        mirror, dest, Fault("status", RELEASES, times=2), max_requests=3, max_attempts=5
    )
    assert isinstance(outcome, DownloadFailed) and "request budget of 3" in str(outcome)
    assert len(server.requests) == 3  # listing + two 500s; the fourth was never sent


def test_disk_space_refusal_makes_no_request(mirror: Mirror, dest: Path) -> None:
    with (
        MirrorServer(mirror.root) as server,
        http_source(server.url, Sleeps(), free_bytes=lambda path: 1000) as source,
    ):
        file = releases_file(source)
        with pytest.raises(InsufficientDiskSpace, match="not enough free disk space") as err:
            source.download(file, dest, expected_sha256=mirror.sums[RELEASES])
        assert "1.0 KB free" in str(err.value) and str(dest) in str(err.value)
        assert downloads(server) == []


def test_stale_part_file_is_resumed_and_bad_final_file_replaced(mirror: Mirror, dest: Path) -> None:
    data = (mirror.folder() / RELEASES).read_bytes()
    dest.mkdir(parents=True)
    (dest / f"{RELEASES}.part").write_bytes(data[:500_000])  # left by a killed run
    with MirrorServer(mirror.root) as server, http_source(server.url, Sleeps()) as source:
        file = releases_file(source)
        result = source.download(file, dest, expected_sha256=mirror.sums[RELEASES])
        assert result.resumed_from == 500_000 and result.transferred == len(data) - 500_000
        (dest / RELEASES).write_bytes(b"garbage")  # a damaged final file is not trusted
        again = source.download(file, dest, expected_sha256=mirror.sums[RELEASES])
        assert not again.skipped and again.requests == 1
        assert [r.status for r in downloads(server)] == [206, 200]
    assert_no_partial_under_final_name(dest, RELEASES, mirror.sums[RELEASES])


def test_unverified_dump_is_checked_by_listed_size(
    tmp_path: Path, sample_dumps: Path, dest: Path
) -> None:
    mirror = build_mirror(tmp_path / "mirror", sample_dumps, checksum=False)
    with MirrorServer(mirror.root) as server, http_source(server.url, Sleeps()) as source:
        dump = source.find_month(SAMPLE_MONTH, accept_unverified=True)
        assert not dump.verified and dump.checksum_file is None
        result = source.download(dump.files["labels"], dest)
        assert not result.verified and result.bytes == mirror.sizes[dump.files["labels"].name]


def test_connection_refused_retries_then_fails_retryable(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    with http_source(f"http://127.0.0.1:{port}/", sleeps, max_attempts=2) as source:
        with pytest.raises(TransientDownloadError, match=r"giving up after 2 attempts.*Connect"):
            source.find_month(SAMPLE_MONTH)
        assert source.requests == 2 and len(sleeps.waits) == 1


def test_garbled_checksum_fails_the_month_naming_file_and_offset(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mirror inverts one byte of the CHECKSUM in transit: the discogs_checksum asset fails
    non-retryably with the file, the offset and the byte, and the month says so."""
    name = mirror.checksum_name()
    size = (mirror.folder() / name).stat().st_size
    plan = FaultPlan(Fault("corrupt", name))
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    with MirrorServer(mirror.root, faults=plan) as server, dg.instance_for_test() as instance:
        for var, value in (("DISCOGS_DATA_DIR", str(tmp_path / "data")),
                           ("DISCOGS_DUMPS_URL", server.url), ("DISCOGS_WAREHOUSE_URL", url),
                           ("DISCOGS_INGESTION_ENABLED", "true")):
            monkeypatch.setenv(var, value)
        result = defs().resolve_job_def("discogs_monthly").execute_in_process(
            partition_key=SAMPLE_MONTH, instance=instance, raise_on_error=False,
            asset_selection=[dg.AssetKey("discogs_checksum")])
        paths = [r.path for r in server.requests]
    assert plan.pending == 0 and not result.success
    assert len(paths) == 2 and "prefix=" in paths[0] and name in paths[1]  # no retry
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.message
    assert f"{name} is not text: byte offset {size // 2}" in message, message
    row = MonthLifecycle(make_engine(url)).get(SAMPLE_MONTH)
    assert str(row["status"]) == "failed" and row["failure_retryable"] is False
    assert f"{name} is not text" in row["last_error"]
