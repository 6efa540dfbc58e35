"""Download throughput from a local mirror server (production-host protocol, real sockets).

    uv run python benchmarks/bench_download.py [--size-gb 1] [--runs 3]

Writes a random file of the given size into a temporary mirror, serves it with the project's
MirrorServer in a child process, and downloads it with DumpSource (streamed SHA-256, fsync,
atomic rename). Prints MB/s, the client's CPU share and peak RSS as medians of the runs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from discogs_assets.lib.acquisition import DumpSource

NAME = "discogs_20260101_releases.xml.gz"
_SERVE = """
import sys
from pathlib import Path
from discogs_assets.lib.acquisition.mirror_server import MirrorServer
server = MirrorServer(Path(sys.argv[1]), port=0)
print(server.url, flush=True)
server.serve_forever()
"""


def _write_mirror(root: Path, size: int) -> str:
    folder = root / "data" / "2026"
    folder.mkdir(parents=True)
    digest = hashlib.sha256()
    block = os.urandom(16 << 20)
    with open(folder / NAME, "wb") as fh:
        for _ in range(size // len(block)):
            fh.write(block)
            digest.update(block)
    sha = digest.hexdigest()
    (folder / "discogs_20260101_CHECKSUM.txt").write_text(f"{sha}  {NAME}\n")
    return sha


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-download-") as tmp:
        root, dest = Path(tmp) / "mirror", Path(tmp) / "dest"
        sha = _write_mirror(root, int(args.size_gb * 2**30))
        server = subprocess.Popen([sys.executable, "-c", _SERVE, str(root)],
                                  stdout=subprocess.PIPE, text=True)
        url = server.stdout.readline().strip()
        rates, cpu_shares = [], []
        try:
            for run in range(args.runs):
                shutil.rmtree(dest, ignore_errors=True)
                with DumpSource.from_url(url, progress_interval=1e9) as source:
                    listed = source.find_month("2026-01").files["releases"]
                    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
                    result = source.download(listed, dest, expected_sha256=sha)
                    wall = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_SELF)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                rates.append(result.bytes / 1e6 / wall)
                cpu_shares.append(100 * cpu / wall)
                print(f"run {run + 1}: {result.bytes / 1e6:,.0f} MB in {wall:.2f} s = "
                      f"{rates[-1]:.0f} MB/s, client CPU {cpu_shares[-1]:.0f} % of one core, "
                      f"{result.requests} request(s)")
        finally:
            server.terminate()
            server.wait()
    hwm = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    print(f"download median: {statistics.median(rates):.0f} MB/s, client CPU "
          f"{statistics.median(cpu_shares):.0f} % of one core, peak RSS "
          f"{int(hwm.group(1)) / 1024 if hwm else float('nan'):.0f} MiB ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
