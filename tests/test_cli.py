"""The ``discogs-pipeline`` console script, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import polars as pl

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "discogs_assets.cli"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, **(env or {})})


def test_sample_mirror_then_parse(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    done = _run("sample-mirror", str(mirror), "--months", "2026-01")
    assert done.returncode == 0, done.stderr
    labels = mirror / "data" / "2026" / "discogs_20260101_labels.xml.gz"
    assert labels.exists() and (mirror / "identities.csv").exists()

    done = _run("parse", str(labels), "--out", str(tmp_path / "parsed"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["entity"] == "labels"
    assert pl.read_parquet(tmp_path / "parsed" / "label.parquet").height == report["records"] > 0


def test_parse_error_is_one_clear_line(tmp_path: Path) -> None:
    broken = tmp_path / "discogs_20260101_labels.xml"
    broken.write_text("<labels>\n<label><id>1</id><name>A</name></label>\n<label><id>2</id><na")
    done = _run("parse", str(broken), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert broken.name in done.stderr
    assert not (tmp_path / "out").exists()


def test_gate_status_on_off(tmp_path: Path) -> None:
    env = {"DISCOGS_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'wh.sqlite'}",
           "DISCOGS_INGESTION_ENABLED": "false"}
    assert "OFF (decided by DISCOGS_INGESTION_ENABLED)" in _run("gate", "status", env=env).stdout
    assert "ON (decided by feature_flags table)" in _run("gate", "on", env=env).stdout
    assert "OFF (decided by feature_flags table)" in _run("gate", "off", env=env).stdout


def test_serve_mirror_speaks_the_production_protocol(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    assert _run("sample-mirror", str(mirror), "--months", "2026-01").returncode == 0
    port = "18931"
    server = subprocess.Popen([*CLI, "serve-mirror", str(mirror), "--port", port], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        listing = None
        for _ in range(100):
            try:
                listing = httpx.get(f"http://127.0.0.1:{port}/?prefix=data/2026/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert listing is not None and listing.status_code == 200
        assert "discogs_20260101_CHECKSUM.txt" in listing.text
    finally:
        server.terminate()
        server.wait(timeout=10)


# Runs one command in-process and reports which heavy libraries it imported.
_IMPORTED = """
import json, sys
from discogs_assets.cli import main
try:
    main(sys.argv[1:])
except SystemExit:  # --help exits
    pass
heavy = ("dagster", "pandera", "sqlalchemy", "polars")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


def test_help_and_parse_import_only_what_they_need(tmp_path: Path) -> None:
    def imported(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", _IMPORTED, *args], capture_output=True,
                              text=True, cwd=REPO, timeout=120, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert imported("--help") == []
    labels = tmp_path / "discogs_20260101_labels.xml"
    labels.write_text("<labels>\n<label><id>1</id><name>A</name></label>\n</labels>\n")
    # The parser works in Arrow: polars would add ~0.5 s of start-up to every parse.
    assert imported("parse", str(labels), "--out", str(tmp_path / "out"), "--workers", "1") == []
    assert (tmp_path / "out" / "label.parquet").exists()
