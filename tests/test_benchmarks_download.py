"""The download benchmark stays runnable (at a tiny size; numbers are not asserted)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_bench_download_prints_a_median() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_download.py", "--size-gb", "0.02", "--runs", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )
    assert "download median:" in done.stdout and "MB/s" in done.stdout
