"""plan-backfill: the pure planner on the real listings, its time model, the paced listing cache
over a real HTTP server, and the command against a real warehouse and host stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lifecycle_helpers import drive_to
from pytest_httpserver import HTTPServer
from werkzeug import Response

from discogs_assets.lib.acquisition import DumpFile, DumpSource
from discogs_assets.lib.acquisition.listing_cache import YearListings
from discogs_assets.lib.acquisition.selection import select_month
from discogs_assets.lib.lifecycle import MonthLifecycle
from discogs_assets.lib.manifest import MonthManifest
from discogs_assets.lib.orchestration.backfill_inputs import month_range
from discogs_assets.lib.orchestration.backfill_plan import (
    DEFAULT_RATES,
    Rates,
    completed_by,
    measure_rates,
    months_needing_listing,
    plan_backfill,
)
from discogs_assets.lib.parsing import PARSER_VERSION
from discogs_assets.lib.tables import ENTITIES
from discogs_assets.lib.warehouse import make_engine, run_models

MB = 1_000_000


def _listings(files: list[DumpFile]) -> dict[int, list[DumpFile]]:
    out: dict[int, list[DumpFile]] = {}
    for f in files:
        out.setdefault(int(f.date[:4]), []).append(f)
    return out


def _plan(months: list[str], files: list[DumpFile], **kwargs: object):  # type: ignore[no-untyped-def]
    args: dict = {"processing": {}, "phase_versions": {}, "resolved": {}, "on_disk": {},
                  "listings": _listings(files), "parser_version": "1",
                  "rates": measure_rates([]), "workers": 2, "order": "oldest"}
    args.update(kwargs)
    return plan_backfill(months, **args)


def test_whole_legacy_listing(s3_files: list[DumpFile]) -> None:
    months = month_range("2008-03", "2022-12")
    plan = _plan(months, s3_files)
    actions = {m.month: m for m in plan.months}
    counts: dict[str, int] = {}
    for m in plan.months:
        counts[m.action] = counts.get(m.action, 0) + 1
    assert counts == {"run": 159, "no dump": 17, "incomplete": 1, "blocked": 1}
    assert actions["2022-07"].reason == "no dump published for 2022-07"
    assert actions["2021-07"].action == "incomplete"
    assert "masters (only in 20191003), releases (only in 20191003) without CHECKSUM" in \
        actions["2019-10"].reason
    assert actions["2011-02"].dump == "20110201+20110211"
    assert actions["2011-02"].note == "not published: masters"
    # 20130103's releases file is 10 MB after 1.8 GB: flagged for a dump_dates override
    assert actions["2013-01"].note.startswith("releases 11 MB vs 1,761 MB in 2012-12")
    whole = sum(f.size for f in s3_files if f.date == "20220801" and f.kind != "CHECKSUM")
    assert sum(actions["2022-08"].dump_bytes.values()) == actions["2022-08"].download_bytes \
        == whole
    commands = plan.commands()
    assert len(commands) == 15  # one per year, oldest first: the highest priority first
    assert commands[0] == ("dagster job backfill -w workspace.yaml -j discogs_monthly "
                           "--partitions 2008-03,2008-09,2008-10 --tags "
                           "'{\"dagster/priority\": \"15\"}' --noprompt")
    assert "2019-10" not in " ".join(commands) and "2022-07" not in " ".join(commands)
    newest = _plan(months, s3_files, order="newest")
    assert [m.month for m in newest.months] == sorted(months, reverse=True)
    assert newest.commands()[0].startswith(
        "dagster job backfill -w workspace.yaml -j discogs_monthly --partitions "
        "2022-01,2022-02,2022-03,2022-04,2022-05,2022-06,2022-08,")
    assert newest.wall_seconds() == pytest.approx(plan.wall_seconds()) and plan.wall_seconds() > 0


def _file(day: str, kind: str, size: int) -> DumpFile:
    name = f"discogs_{day}_{kind}." + ("txt" if kind == "CHECKSUM" else "xml.gz")
    return DumpFile(name, size, f"data/{day[:4]}/{name}")


def test_time_model_with_known_rates() -> None:
    files = [_file(day, kind, 25 * MB if kind != "CHECKSUM" else 300)
             for day in ("20240101", "20240201") for kind in (*ENTITIES, "CHECKSUM")]
    rates = Rates({"download": 10.0, "parse": 20.0, "load": 5.0})
    # per month: download 10 s, parse 5 s, load 20 s
    one = _plan(["2024-01", "2024-02"], files, rates=rates, workers=1)
    two = _plan(["2024-01", "2024-02"], files, rates=rates, workers=2)
    assert one.totals() == {"download": 20.0, "parse": 10.0, "load": 40.0,
                            "download_bytes": 200 * MB, "dump_bytes": 200 * MB}
    assert one.wall_seconds() == 50 + 25  # CPU-bound: (10 + 40) / 1, then the last month
    assert two.wall_seconds() == 40 + 25  # loads take one lock: their 40 s are the floor
    # a file on disk of the listed size is not downloaded again; a partial one is
    present = {"2024-01": {"discogs_20240101_releases.xml.gz": 25 * MB,
                           "discogs_20240101_labels.xml.gz": 3}}
    partly = _plan(["2024-01"], files, rates=rates, on_disk=present)
    assert partly.months[0].download_bytes == 75 * MB


def test_rates_are_measured_from_past_months() -> None:
    rows = [
        {"stats": {"raw_labels": {"bytes": 50 * MB, "seconds": 5.0},
                   "parsed_labels": {"seconds": 2.0}, "warehouse_labels": {"seconds": 10.0}}},
        {"stats": {"raw_releases": {"bytes": 100 * MB, "seconds": 0.1,
                                    "skipped_already_verified": True},
                   "parsed_releases": {"seconds": 10.0},
                   "warehouse_masters": {"absent": True}}},
        {"stats": None},
    ]
    rates = measure_rates(rows)
    assert rates.stage == {"download": 10.0, "parse": 12.5, "load": 5.0}
    assert rates.of("parse", "labels") == 25.0 and rates.of("parse", "releases") == 10.0
    assert rates.of("load", "releases") == 5.0  # nothing measured: the stage's rate
    assert rates.source["download"] == "measured on 1 file(s)"
    assert measure_rates([]).stage == DEFAULT_RATES
    assert measure_rates([]).source == dict.fromkeys(DEFAULT_RATES, "default")


def test_done_means_completed_by_the_current_parser(s3_files: list[DumpFile]) -> None:
    done = {"status": "completed", "parser_version": "2"}
    assert completed_by(done, {"labels": "2", "masters": None}, "2")
    assert not completed_by(done, {"labels": "2", "releases": "1"}, "2")
    assert not completed_by({**done, "parser_version": "1"}, {}, "2")
    assert not completed_by({**done, "status": "processing"}, {}, "2")
    assert not completed_by(None, {}, "2")
    months = ["2022-08", "2022-09", "2022-10"]
    resolved = {"2022-10": select_month(s3_files, "2022-10")}
    assert months_needing_listing(months, {"2022-08"}, resolved) == [2022]
    assert months_needing_listing(["2022-08", "2022-10"], {"2022-08"}, resolved) == []
    plan = _plan(months, s3_files, processing={"2022-08": done},
                 phase_versions={"2022-08": {e: "2" for e in ENTITIES}}, parser_version="2",
                 resolved=resolved, listings={2022: "listing of 2022 failed: boom"})
    assert [(m.month, m.action) for m in plan.months] == [
        ("2022-08", "done"), ("2022-09", "unknown"), ("2022-10", "run")]
    assert plan.months[1].reason == "listing of 2022 failed: boom"


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def _year_page(template: str, year: int) -> str:
    return template.replace("2026", str(year))


def test_listing_cache_paces_reuses_and_stops_at_a_rate_limit(
    httpserver: HTTPServer, sample_dumps: Path, tmp_path: Path
) -> None:
    template = (sample_dumps / "dsub-io_open-discogs-batch" / "DiscogsData2026.html").read_text()
    for year in (2024, 2025, 2026):
        httpserver.expect_request("/", query_string={"prefix": f"data/{year}/"}) \
            .respond_with_data(_year_page(template, year), content_type="text/html")
    httpserver.expect_request("/", query_string={"prefix": "data/2023/"}).respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "3600"}))
    clock = _Clock(datetime(2026, 8, 1, tzinfo=UTC).timestamp())

    def listings() -> YearListings:
        source = DumpSource.from_url(httpserver.url_for("/"), max_attempts=2,
                                     max_retry_after=0, sleep=clock.sleep)
        return YearListings(source, tmp_path / "cache", min_interval_s=30, clock=clock,
                            sleep=clock.sleep)

    first = listings()
    files = first.get(2024)
    assert isinstance(files, list) and {f.date for f in files} == {"20240701"}
    clock.now += 10
    assert isinstance(first.get(2025), list)
    assert clock.slept == [20.0] and first.requests == 2  # 30 s between requests
    second = listings()  # past years come from disk; the current year too, while fresh
    assert isinstance(second.get(2024), list) and isinstance(second.get(2026), list)
    assert second.requests == 1
    clock.now += 7 * 3600
    assert isinstance(second.get(2024), list) and second.requests == 1
    assert isinstance(second.get(2026), list) and second.requests == 2  # stale current year
    reason = second.get(2023)
    assert isinstance(reason, str) and "asked us to wait 3600 s" in reason
    assert second.retry_after == 3600
    assert second.get(2022) == reason and second.requests == 3  # no request after the 429
    assert len(httpserver.log) == 5


def test_plan_backfill_command(httpserver: HTTPServer, sample_dumps: Path, tmp_path: Path,
                               pg_url: str, s3_files: list[DumpFile]) -> None:
    """Against a warehouse with history and a host stand-in serving the legacy listing."""
    body = (sample_dumps / "dsub-io_go-open-discogs-batch" / "data.xml").read_bytes()
    httpserver.expect_request("/").respond_with_data(body, content_type="application/xml")
    engine = make_engine(pg_url)
    run_models(engine)
    lifecycle = MonthLifecycle(engine)
    stats = {f"raw_{e}": {"bytes": 40 * MB, "seconds": 4.0} for e in ENTITIES}
    stats |= {f"parsed_{e}": {"seconds": 1.0} for e in ENTITIES}
    stats |= {f"warehouse_{e}": {"seconds": 8.0} for e in ENTITIES}
    drive_to(lifecycle, "2019-08", "completed", parser_version=PARSER_VERSION)
    lifecycle.record_stats("2019-08", stats)
    drive_to(lifecycle, "2019-09", "completed", parser_version=PARSER_VERSION)
    drive_to(lifecycle, "2019-11", "completed", parser_version="0")  # an older parser
    engine.dispose()
    data = tmp_path / "data"
    dump = select_month(s3_files, "2019-12")  # resolved and partly downloaded already
    raw = data / "raw" / "2019-12"
    raw.mkdir(parents=True)
    MonthManifest(dump, "0" * 64).write(raw)
    with open(raw / dump.files["labels"].name, "wb") as fh:
        fh.truncate(dump.files["labels"].size)  # sparse: the listed size, no real bytes
    env = {**os.environ, "DISCOGS_DATA_DIR": str(data), "DISCOGS_WAREHOUSE_URL": pg_url,
           "DISCOGS_DUMPS_URL": httpserver.url_for("/")}
    done = subprocess.run(
        [sys.executable, "-m", "discogs_assets.cli", "plan-backfill", "--from", "2019-08",
         "--to", "2019-12", "--workers", "3", "--listing-interval", "0"],
        env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines()
            if line[:4] == "2019"}
    assert rows == {"2019-12": "run", "2019-11": "run", "2019-10": "blocked",
                    "2019-09": "done", "2019-08": "done"}
    out = done.stdout
    assert "listing requests made: 1" in out  # one year, 2019-12 answered from disk
    assert "download 10.0 (measured on 4 file(s)), parse 40.0 (measured on 4 file(s)), " \
           "load 5.0 (measured on 4 file(s))" in out
    to_download = sum(f.size for f in select_month(s3_files, "2019-11").files.values()) + \
        dump.total_size() - dump.files["labels"].size
    assert f"to download: {to_download / MB:,.0f} MB" in out
    assert "with 3 worker(s), newest first" in out
    assert out.rstrip().endswith(
        "dagster job backfill -w workspace.yaml -j discogs_monthly --partitions "
        "2019-11,2019-12 --tags '{\"dagster/priority\": \"1\"}' --noprompt")
    port = httpserver.url_for("/").split(":")[-1].strip("/")
    cached = data / "listings" / f"localhost_{port}" / "2019.json"
    assert json.loads(cached.read_text())["files"]
