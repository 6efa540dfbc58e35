"""End-to-end parse benchmark: generated releases .xml.gz → all Parquet tables.

    uv run python benchmarks/bench_parse.py [--size-mb 1024] [--runs 3] [--workers 1,2]
        [--classic DIR [--classic-python PY]] [--input FILE.xml.gz]

Generates a releases dump in the real schema once, then parses it ``--runs`` times per worker
count, each run in a fresh process started like ``discogs-pipeline parse`` (so start-up and
imports count, and peak RSS is that run's), and prints medians: MB/s of uncompressed XML,
releases/s, parse seconds and end-to-end seconds, peak RSS (fast-path workers are threads of
that process).

``--classic DIR`` also times the classic converter on the same file in the same rounds
(``DIR`` is a checkout of philipmat/discogs-xml2db; ``--classic-python`` is an interpreter with
its requirements): ``run.py INPUT_DIR --export release``, releases → CSV. Runs alternate (each
round runs every worker count, then the converter), and the ratio of end-to-end medians is
printed with the load average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_releases import generate  # a sibling script, not a package

# The command line's own entry point, then VmHWM of the child itself (ru_maxrss after exec
# would start at this parent's peak).
_RUN = """
import json, re, sys
from discogs_assets.cli import main
main(["parse", *sys.argv[1:]])
print(json.dumps({"main_rss": 1024 * int(re.search(r"VmHWM:\\s+(\\d+) kB",
                                                   open("/proc/self/status").read()).group(1))}))
"""


def run_once(path: Path, out: Path, workers: int, engine: str) -> dict[str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(path), "--out", str(out), "--workers", str(workers),
         "--engine", engine], check=True, capture_output=True, text=True)
    wall = time.monotonic() - started
    report, rss = done.stdout.strip().rsplit("\n", 1)
    return {**json.loads(report), **json.loads(rss), "wall": wall}


def run_classic(checkout: Path, python: str, path: Path, out: Path) -> float:
    """Seconds of the classic converter on ``path`` (it finds dumps by their file name)."""
    inputs = out / "in"
    inputs.mkdir(parents=True, exist_ok=True)
    link = inputs / "discogs_20200101_releases.xml.gz"
    link.unlink(missing_ok=True)
    link.symlink_to(path.resolve())
    started = time.monotonic()
    subprocess.run([python, "run.py", str(inputs), "--export", "release", "--output",
                    str(out)], cwd=checkout, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # a progress bar
    return time.monotonic() - started


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=1024,
                        help="uncompressed XML size to generate (default 1024)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--engine", default="fast", choices=("fast", "reference"))
    parser.add_argument("--input", type=Path, help="reuse this .xml.gz instead of generating")
    parser.add_argument("--classic", type=Path, metavar="DIR",
                        help="checkout of philipmat/discogs-xml2db to time on the same file")
    parser.add_argument("--classic-python", default=sys.executable,
                        help="interpreter with the classic converter's requirements")
    args = parser.parse_args(argv)
    worker_counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        path = args.input or Path(tmp) / "discogs_bench_releases.xml.gz"
        if args.input is None:
            count = generate(path, args.size_mb)
            print(f"generated {count} releases, {args.size_mb:g} MB XML, "
                  f"{path.stat().st_size / 1e6:.1f} MB gzipped", flush=True)
        print(f"load average at start: {_load()}", flush=True)
        runs: dict[int, list[dict[str, float]]] = {w: [] for w in worker_counts}
        classic: list[float] = []
        for _ in range(args.runs):
            for workers in worker_counts:
                runs[workers].append(run_once(path, Path(tmp) / "out", workers, args.engine))
            if args.classic:
                classic.append(run_classic(args.classic, args.classic_python, path,
                                           Path(tmp) / "classic"))
        end_to_end = {}
        for workers, results in runs.items():
            secs = statistics.median(r["seconds"] for r in results)
            end_to_end[workers] = statistics.median(r["wall"] for r in results)
            mb = results[0]["bytes_xml"] / 1e6
            print(f"workers={workers} engine={args.engine} runs={args.runs}: "
                  f"{mb / secs:.1f} MB/s, {results[0]['records'] / secs:,.0f} releases/s, "
                  f"{secs:.2f} s median, end to end {end_to_end[workers]:.2f} s; peak RSS main "
                  f"{statistics.median(r['main_rss'] for r in results) / 2**20:.0f} MiB; "
                  f"{sum(results[0]['row_counts'].values()):,} rows", flush=True)
        if classic:
            median = statistics.median(classic)
            print(f"classic converter (run.py --export release) runs={len(classic)}: "
                  f"{median:.2f} s median ({', '.join(f'{s:.1f}' for s in classic)})")
            print("classic / discogs-pipeline parse, end to end: " + ", ".join(
                f"workers={w} {median / s:.1f}x" for w, s in end_to_end.items()))
        for one, two in itertools.pairwise(worker_counts):
            parse = [statistics.median(r["seconds"] for r in runs[w]) for w in (one, two)]
            print(f"speed-up of workers={two} over workers={one}: "
                  f"{parse[0] / parse[1]:.2f}x parse, "
                  f"{end_to_end[one] / end_to_end[two]:.2f}x end to end")
        print(f"load average at end: {_load()}", flush=True)


if __name__ == "__main__":
    main()
