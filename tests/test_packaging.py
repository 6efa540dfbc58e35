"""The wheel is the product: built from the repo, installed in a clean virtual environment with
the locked dependencies, it runs the demo from a folder that is not the checkout (the SQL models
ship inside it and are found through package resources)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_wheel_in_a_clean_venv_runs_the_demo(tmp_path: Path) -> None:
    uv = _uv()
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("DISCOGS_", "DAGSTER_", "VIRTUAL_ENV", "LML_", "SENTRY_"))}
    base_env["UV_PYTHON_DOWNLOADS"] = "never"
    _run([*uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist")], REPO, base_env)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "dbt_like_sql/discogs_data_processing.sql" in names
    assert not any(n.startswith("tests/") for n in names)

    requirements = tmp_path / "requirements.txt"
    exported = _run([*uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project"],
                    REPO, base_env)
    requirements.write_text(exported.stdout)
    venv = tmp_path / "venv"
    _run([*uv, "venv", "--python", sys.executable, str(venv)], tmp_path, base_env)
    python = str(venv / "bin" / "python")
    _run([*uv, "pip", "install", "--python", python, "-r", str(requirements), str(wheel)],
         tmp_path, base_env, timeout=600)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**base_env, "DISCOGS_DATA_DIR": str(elsewhere / "data"), "PATH":
           f"{venv / 'bin'}{os.pathsep}{base_env.get('PATH', '')}"}
    demo = _run([str(venv / "bin" / "discogs-pipeline"), "demo", "--months", "2026-01"],
                elsewhere, env)
    assert "month 2026-01: run" in demo.stdout and "succeeded" in demo.stdout, demo.stdout
    assert (elsewhere / "data" / "warehouse.sqlite").exists()
