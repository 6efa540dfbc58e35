"""Engines: URL forms, password redaction, SQLite pragmas."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from discogs_assets.lib.warehouse import make_engine, redact_url
from discogs_assets.lib.warehouse.engine import normalize_url


def test_redact_url_never_shows_the_password() -> None:
    assert redact_url("postgresql://app:s3cr3t@db.example:5432/discogs") == \
        "postgresql://app:***@db.example:5432/discogs"
    assert "s3cr3t" not in redact_url("postgresql+psycopg://app:s3cr3t@db/x?sslmode=require")
    assert redact_url("not a url://u:pw@h") == "not a url://u:***@h"
    assert redact_url("sqlite:///data/warehouse.sqlite") == "sqlite:///data/warehouse.sqlite"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg"])
def test_postgres_url_forms_use_psycopg3(scheme: str) -> None:
    assert normalize_url(f"{scheme}://u:p@h/db").drivername == "postgresql+psycopg"


def test_unsupported_urls_are_refused_without_the_password() -> None:
    with pytest.raises(ValueError, match=r"postgresql\+psycopg2://u:\*\*\*@h/db") as info:
        normalize_url("postgresql+psycopg2://u:pw@h/db")
    assert "pw" not in str(info.value)
    with pytest.raises(ValueError, match="sqlite or postgresql"):
        normalize_url("mysql://u:pw@h/db")


def test_plain_postgresql_url_connects(pg_url: str) -> None:
    plain = sa.make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    engine = make_engine(plain)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT current_setting('application_name')")).scalar() == \
            "discogs-pipeline"
    engine.dispose()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    engine.dispose()
