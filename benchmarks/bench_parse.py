"""End-to-end parse benchmark: generated releases .xml.gz → all Parquet tables.

    uv run python benchmarks/bench_parse.py [--size-mb 1024] [--runs 3] [--workers 1,2]

Generates a releases dump in the real schema once, then for each worker count parses it
``--runs`` times, each run in a fresh process (so peak RSS is that run's), and prints medians:
MB/s of uncompressed XML, releases/s, peak RSS of the calling process and of the largest worker.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_releases import generate  # a sibling script, not a package

# VmHWM of the child itself: ru_maxrss after exec would start at this parent's peak.
_RUN = """
import json, re, sys
from pathlib import Path
from discogs_assets.lib.parsing import parse_dump
r = parse_dump(Path(sys.argv[1]), Path(sys.argv[2]), workers=int(sys.argv[3]),
               engine=sys.argv[4], chunk_bytes=int(sys.argv[5]))
print(json.dumps({"seconds": r.seconds, "bytes_xml": r.bytes_xml, "records": r.records,
                  "main_rss": 1024 * int(re.search(r"VmHWM:\\s+(\\d+) kB",
                                                   open("/proc/self/status").read()).group(1)),
                  "worker_rss": r.worker_peak_rss, "rows": sum(r.row_counts.values())}))
"""


def run_once(path: Path, out: Path, workers: int, engine: str, chunk_bytes: int
             ) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(path), str(out), str(workers), engine,
         str(chunk_bytes)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=1024,
                        help="uncompressed XML size to generate (default 1024)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--engine", default="fast", choices=("fast", "reference"))
    parser.add_argument("--chunk-mb", type=float, default=4)
    parser.add_argument("--input", type=Path, help="reuse this .xml.gz instead of generating")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        path = args.input or Path(tmp) / "discogs_bench_releases.xml.gz"
        if args.input is None:
            count = generate(path, args.size_mb)
            print(f"generated {count} releases, {args.size_mb:g} MB XML, "
                  f"{path.stat().st_size / 1e6:.1f} MB gzipped", flush=True)
        for workers in (int(w) for w in args.workers.split(",")):
            runs = [run_once(path, Path(tmp) / "out", workers, args.engine,
                             int(args.chunk_mb * (1 << 20))) for _ in range(args.runs)]
            secs = statistics.median(r["seconds"] for r in runs)
            mb = runs[0]["bytes_xml"] / 1e6
            print(f"workers={workers} engine={args.engine} runs={args.runs}: "
                  f"{mb / secs:.1f} MB/s, {runs[0]['records'] / secs:,.0f} releases/s, "
                  f"{secs:.2f} s median; peak RSS main "
                  f"{statistics.median(r['main_rss'] for r in runs) / 2**20:.0f} MiB, "
                  f"largest worker {statistics.median(r['worker_rss'] for r in runs) / 2**20:.0f}"
                  f" MiB; {runs[0]['rows']:,} rows", flush=True)


if __name__ == "__main__":
    main()
