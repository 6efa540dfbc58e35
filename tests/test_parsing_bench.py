"""The benchmark command itself (tiny size: performance numbers are not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from parsing_helpers import load_generator, parse_both

REPO = Path(__file__).resolve().parents[1]


def test_bench_parse_prints_medians_per_worker_count() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_parse.py", "--size-mb", "2", "--runs", "2",
         "--workers", "1,2"], check=True, capture_output=True, text=True, cwd=REPO,
        timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("workers=")]
    assert [line.split()[0] for line in lines] == ["workers=1", "workers=2"]
    for line in lines:
        assert re.search(r"[\d.]+ MB/s, [\d,]+ releases/s, .* peak RSS main \d+ MiB", line)


# Stands in for philipmat/discogs-xml2db's run.py: records how it was called.
_FAKE_CLASSIC = """
import pathlib, sys
inputs = pathlib.Path(sys.argv[1])
names = sorted(p.name for p in inputs.iterdir())
with open(pathlib.Path(__file__).with_name("calls.txt"), "a") as log:
    log.write(" ".join([*sys.argv[2:4], *names]) + "\\n")
"""


def test_bench_parse_times_the_classic_converter_in_the_same_rounds(tmp_path: Path) -> None:
    classic = tmp_path / "classic"
    classic.mkdir()
    (classic / "run.py").write_text(_FAKE_CLASSIC)
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_parse.py", "--size-mb", "1", "--runs", "2",
         "--workers", "1", "--classic", str(classic)], check=True, capture_output=True,
        text=True, cwd=REPO, timeout=300)
    calls = (classic / "calls.txt").read_text().splitlines()
    assert calls == ["--export release discogs_20200101_releases.xml.gz"] * 2
    assert re.search(r"classic converter \(run.py --export release\) runs=2: [\d.]+ s median",
                     done.stdout)
    assert re.search(r"classic / discogs-pipeline parse, end to end: workers=1 [\d.]+x",
                     done.stdout)
    assert "load average at start" in done.stdout and "load average at end" in done.stdout


def test_generated_releases_parse_identically_with_both_engines(tmp_path: Path) -> None:
    path = tmp_path / "gen.xml.gz"
    count = load_generator().generate(path, 1.5, seed=3)
    frames = parse_both(path, tmp_path, chunk_bytes=128 << 10)
    assert frames["release"].height == count
    assert frames["release_track"]["parent_idx"].drop_nulls().len() > 0
    assert frames["release_artist"]["artist_id"].null_count() > 0  # generated <id>0</id>
