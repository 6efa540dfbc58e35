"""Shared test fixtures: the real sample dumps and real PostgreSQL databases."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DUMPS = REPO.parent / "shared" / "sample_dumps"
PG_ADMIN_URL = os.environ.get(
    "DISCOGS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_unavailable_reason() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: no usable server here
        where = PG_ADMIN_URL.split("@")[-1]
        return f"PostgreSQL not reachable at {where}: {exc.__class__.__name__}"
    return None


_PG_REASON: str | bool | None = False  # False = not probed yet


def require_postgres() -> None:
    """Skip (with the reason) on a laptop without PostgreSQL; fail loudly in CI."""
    global _PG_REASON
    if _PG_REASON is False:
        _PG_REASON = _pg_unavailable_reason()
    if _PG_REASON:
        if IN_CI:
            pytest.fail(f"CI must have PostgreSQL: {_PG_REASON}")
        pytest.skip(str(_PG_REASON))


@pytest.fixture(scope="session")
def sample_dumps() -> Path:
    """``shared/sample_dumps`` beside the checkout (real Discogs data, see its SOURCES.md)."""
    if not SAMPLE_DUMPS.is_dir():
        if IN_CI:
            pytest.fail(f"sample dumps missing at {SAMPLE_DUMPS}")
        pytest.skip("shared/sample_dumps is not beside this checkout")
    return SAMPLE_DUMPS


@pytest.fixture(scope="session")
def s3_files(sample_dumps: Path) -> list:
    """Every file of the real legacy S3 listing (every dump 2008-03 … 2022-11)."""
    from discogs_assets.lib.acquisition.listing import parse_s3_listing

    data = (sample_dumps / "dsub-io_go-open-discogs-batch" / "data.xml").read_bytes()
    listing = parse_s3_listing(data)
    assert listing.next_marker is None and listing.ignored == []
    return listing.files


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (its URL), dropped afterwards."""
    require_postgres()
    name = f"discogs_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with pg_database() as url:
        yield url


CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; no browser is ever downloaded


def require_chromium() -> None:
    """Skip (with the reason) where Debian's chromium is not installed; fail loudly in CI."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"CI must have Chromium: {reason}")
        pytest.skip(reason)


def call_failed(node: pytest.Item) -> bool:
    """Whether the test itself (not its setup or teardown) failed; for fixtures that leave
    evidence behind on failure."""
    report = getattr(node, "report_call", None)
    return report is not None and report.failed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against an embedded SQLite file and a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[sa.Engine]:
    """A migrated, empty warehouse on each dialect (test modules needing more override it)."""
    from discogs_assets.lib.warehouse import make_engine, run_models

    eng = make_engine(warehouse_url)
    run_models(eng)
    yield eng
    eng.dispose()
