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


def test_generated_releases_parse_identically_with_both_engines(tmp_path: Path) -> None:
    path = tmp_path / "gen.xml.gz"
    count = load_generator().generate(path, 1.5, seed=3)
    frames = parse_both(path, tmp_path, chunk_bytes=128 << 10)
    assert frames["release"].height == count
    assert frames["release_track"]["parent_idx"].drop_nulls().len() > 0
    assert frames["release_artist"]["artist_id"].null_count() > 0  # generated <id>0</id>
