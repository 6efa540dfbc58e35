"""``discogs-pipeline verify`` as an operator runs it after a deploy: a subprocess against a live
warehouse and Dagster instance, printing one line per check and ``N/N passed``, exiting
non-zero on any failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from discogs_assets.instance import LOCAL_INSTANCE_YAML
from discogs_assets.lib.warehouse import make_engine, run_models
from tests.conftest import REPO
from tests.monitoring_helpers import BROKEN, GOOD, good_and_broken_warehouse, run_month
from tests.warehouse_helpers import base_month, next_month

CHECKS = 8


def verify(url: str, data_dir: Path, **env: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "discogs_assets.cli", "verify"], cwd=REPO, timeout=120,
        capture_output=True, text=True,
        env={**{k: v for k, v in os.environ.items() if k not in ("SENTRY_DSN", "DAGSTER_HOME")},
             "DISCOGS_WAREHOUSE_URL": url, "DISCOGS_DATA_DIR": str(data_dir), **env})
    assert not done.stderr.strip() or "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout.strip().splitlines()


def dagster_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    return home


def test_verify_passes_on_a_healthy_deployment(warehouse_url: str, tmp_path: Path) -> None:
    engine = make_engine(warehouse_url)
    run_models(engine)
    first = base_month()
    run_month(engine, tmp_path, GOOD, first, run_id="r1")
    run_month(engine, tmp_path, BROKEN, next_month(first), run_id="r2")
    engine.dispose()

    code, lines = verify(warehouse_url, tmp_path, DAGSTER_HOME=str(dagster_home(tmp_path)),
                         SENTRY_DSN="https://public-key@sentry.example.org/42")
    assert code == 0, "\n".join(lines)
    assert lines[-1] == f"{CHECKS}/{CHECKS} passed"
    assert all(line.startswith("PASS ") for line in lines[:-1]), lines
    text = "\n".join(lines)
    assert f"latest month complete and non-empty: {BROKEN} completed: labels 3, artists 3, " \
           "masters 1, releases 3 records loaded" in text
    assert "Sentry at sentry.example.org (project 42)" in text and "public-key" not in text
    assert "0 run(s) recorded" in text


def test_verify_names_every_problem_of_a_broken_deployment(tmp_path: Path) -> None:
    """The newest month completed with zero labels, a view dropped, a DSN that does not parse
    and no Dagster instance: four failures, each with its reason."""
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    engine = good_and_broken_warehouse(url, tmp_path)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP VIEW v_parser_performance"))
    engine.dispose()

    code, lines = verify(url, tmp_path, SENTRY_DSN="not a dsn",
                         DAGSTER_HOME=str(tmp_path / "no_such_home"))
    assert code == 1
    assert lines[-1] == f"{CHECKS - 4}/{CHECKS} passed"
    failed = {line.split(":", 1)[0].removeprefix("FAIL "): line for line in lines
              if line.startswith("FAIL ")}
    assert set(failed) == {"health views answer", "latest month complete and non-empty",
                           "alerts deliverable", "dagster instance answers"}
    assert "v_parser_performance" in failed["health views answer"]
    assert f"{BROKEN} completed with zero records in labels (0 labels records applied under " \
           "the allow_shrink override)" in failed["latest month complete and non-empty"]
    assert "SENTRY_DSN does not parse" in failed["alerts deliverable"]
    assert "not a dsn" not in failed["alerts deliverable"]
    assert "no Dagster instance at" in failed["dagster instance answers"]
