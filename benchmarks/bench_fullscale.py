"""Full-scale benchmark of one releases month, with a projection to the real dump.

    uv run python benchmarks/bench_fullscale.py [--releases 2000000] [--workdir DIR]
                                                [--pg-url URL] [--keep]

Generates a releases dump (records of ``gen_releases.py``: about 4.5 KB of XML per release, so
2 M releases are about 9 GB of XML, written gzip-compressed), parses it as ``discogs-pipeline
parse`` does, loads it into an empty PostgreSQL warehouse (the first load), then loads a steady
month made from it (3 % of releases edited: every 33rd release's title, every 66th's track
titles too; 0.5 % removed). Each phase runs in a child process of its own, so its peak RSS is
its own: the largest single process (``wait4``) and the whole process tree (``/proc`` sampled
every 0.2 s). Printed per phase: seconds, XML MB/s, records/s, rows/s, peak RSS; then the
projection to the 2026 dump (19.3 M releases, about 63 GB of XML), linear in XML bytes (parse)
and in records (loads).

The data lives in ``--workdir`` (default: a new temporary directory, removed at the end unless
``--keep``). The warehouse is a scratch database created on the PostgreSQL server of
``--pg-url`` (default ``$DISCOGS_TEST_PG_URL`` or the local test server) and dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from isal import igzip

from discogs_assets.lib.tables import tables_for
from discogs_assets.lib.warehouse import load_month, make_engine, redact_url, run_models

sys.path.insert(0, str(Path(__file__).parent))
from gen_releases import release_xml  # a sibling script, not a package

DUMP_2026_RELEASES = 19_300_000
DUMP_2026_XML_BYTES = 63e9
SPECS = tables_for("releases")
MONTHS = ("2026-01", "2026-02")
DUMP_NAME = "discogs_20260101_releases.xml.gz"
POOL_RECORDS = 20_000


# --- the phases, each run in a child process (``--phase NAME``) ------------------------------

def phase_generate(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``gen_releases`` builds about 4 MB of XML a second (Python string work): 2 M releases
    would take most of an hour. So a pool of distinct records is built once and written
    again and again under new ids: every record is still parsed and loaded in full."""
    rng = random.Random(7)
    prefix = '<release id="1"'
    pool = [release_xml(rng, 1).removeprefix(prefix).encode() + b"\n"
            for _ in range(min(args.releases, POOL_RECORDS))]
    path = work / DUMP_NAME
    with igzip.open(path, "wb", compresslevel=1) as out:
        out.write(b"<releases>\n")
        for start in range(0, args.releases, len(pool)):
            out.write(b"".join(f'<release id="{start + i + 1}"'.encode() + body
                               for i, body in enumerate(pool[:args.releases - start])))
        out.write(b"</releases>\n")
    return {"records": args.releases, "file_bytes": path.stat().st_size}


def phase_parse(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    from discogs_assets.lib.parsing import parse_dump  # the `discogs-pipeline parse` entry point

    result = parse_dump(work / DUMP_NAME, _parsed(work, MONTHS[0]),
                        entity="releases", workers=args.parse_workers)
    return {"records": result.records, "rows": sum(result.row_counts.values()),
            "xml_bytes": result.bytes_xml}


def phase_next_month(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The steady month from the first one, table by table, streamed (never all in memory)."""
    src, out = _parsed(work, MONTHS[0]), _parsed(work, MONTHS[1])
    out.mkdir(parents=True, exist_ok=True)
    rows = 0
    for spec in SPECS:
        key = pl.col(spec.parent_key)
        scan = pl.scan_parquet(src / f"{spec.name}.parquet").filter(key % 200 != 1)
        if spec.name == "release":
            scan = scan.with_columns(title=pl.when(key % 33 == 0).then(
                pl.col("title") + " (edited)").otherwise(pl.col("title")))
        elif spec.name == "release_track":
            scan = scan.with_columns(title=pl.when(key % 66 == 0).then(
                pl.col("title") + " (edited)").otherwise(pl.col("title")))
        scan.sink_parquet(out / f"{spec.name}.parquet")
        rows += pl.scan_parquet(out / f"{spec.name}.parquet").select(pl.len()).collect().item()
    return {"rows": rows}


def _load(month: str) -> Callable[[Path, argparse.Namespace], dict[str, Any]]:
    def phase(work: Path, args: argparse.Namespace) -> dict[str, Any]:
        engine = make_engine(args.pg_url)
        result = load_month(engine, month=month, entity="releases",
                            parsed_dir=_parsed(work, month), log=lambda _: None,
                            **({"chunk_rows": args.chunk_rows} if args.chunk_rows else {}))
        engine.dispose()
        return {"records": result.staged_rows, "rows": result.input_rows,
                "added": result.added, "changed": result.changed, "removed": result.removed,
                "rows_written": result.rows_written}
    return phase


PHASES: dict[str, Callable[[Path, argparse.Namespace], dict[str, Any]]] = {
    "generate": phase_generate, "parse": phase_parse, "next_month": phase_next_month,
    "first_load": _load(MONTHS[0]), "steady_load": _load(MONTHS[1]),
}
MEASURED = ("parse", "first_load", "steady_load")


def _parsed(work: Path, month: str) -> Path:
    return work / "parsed" / month / "releases"


# --- running a phase and measuring it ---------------------------------------------------------

def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants now (0 once gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                todo += map(int, Path(f"/proc/{p}/task/{task}/children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue
    return total


def run_phase(name: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run phase ``name`` in a child process: its result, wall seconds and peak RSS."""
    cmd = [sys.executable, __file__, "--phase", name, "--workdir", str(work),
           "--releases", str(args.releases), "--pg-url", args.pg_url,
           "--parse-workers", str(args.parse_workers), "--chunk-rows", str(args.chunk_rows)]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    tree_peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal tree_peak
        while not done.wait(0.2):
            tree_peak = max(tree_peak, _tree_rss(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"phase {name} failed (exit {child.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    return {**result, "seconds": seconds, "max_rss": usage.ru_maxrss * 1024,
            "tree_rss": tree_peak}


def _scratch_database(url: str) -> tuple[sa.Engine, str]:
    admin = sa.create_engine(sa.make_url(url), isolation_level="AUTOCOMMIT")
    name = f"bench_fullscale_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    scratch = sa.make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(scratch)
    run_models(engine)
    engine.dispose()
    return admin, scratch


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def report(results: dict[str, dict[str, Any]]) -> None:
    xml = results["parse"]["xml_bytes"]
    records = results["parse"]["records"]
    print(f"\n{records:,} releases, {xml / 1e9:.2f} GB of XML, "
          f"{results['parse']['rows']:,} rows in {len(SPECS)} tables")
    print(f"{'phase':<12} {'seconds':>9} {'XML MB/s':>9} {'records/s':>11} {'rows/s':>11} "
          f"{'peak RSS (largest process / tree)':>34}")
    for name in MEASURED:
        r = results[name]
        s = r["seconds"]
        print(f"{name:<12} {s:9.1f} {xml / 1e6 / s:9.1f} {r['records'] / s:11,.0f} "
              f"{r['rows'] / s:11,.0f} {_mib(r['max_rss']):>18} / {_mib(r['tree_rss'])}")
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; cores {os.cpu_count()}")
    print(f"\nprojection to the 2026 dump ({DUMP_2026_RELEASES / 1e6:.1f} M releases, "
          f"{DUMP_2026_XML_BYTES / 1e9:.0f} GB of XML), linear:")
    parse = results["parse"]["seconds"] * DUMP_2026_XML_BYTES / xml
    scale = DUMP_2026_RELEASES / records
    first = results["first_load"]["seconds"] * scale
    steady = results["steady_load"]["seconds"] * scale
    for name, seconds in (("parse", parse), ("first_load", first), ("steady_load", steady)):
        print(f"  {name:<12} {seconds / 60:7.1f} min")
    print(f"  first month (parse + first load)  {(parse + first) / 60:7.1f} min")
    print(f"  steady month (parse + steady load) {(parse + steady) / 60:6.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, default=2_000_000)
    parser.add_argument("--workdir", type=Path, help="default: a new temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the data of --workdir")
    parser.add_argument("--pg-url", default=os.environ.get(
        "DISCOGS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="an existing database, used to create (and drop) a scratch database")
    parser.add_argument("--parse-workers", type=int, default=2)
    parser.add_argument("--chunk-rows", type=int, default=0,
                        help="the load's rows per chunk (0: its default)")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:  # a child: one phase, its result as the last line
        print(json.dumps(PHASES[args.phase](args.workdir, args)))
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_fullscale_"))
    work.mkdir(parents=True, exist_ok=True)
    admin, args.pg_url = _scratch_database(args.pg_url)
    print(f"data in {work}; warehouse {redact_url(sa.make_url(args.pg_url))}")
    results: dict[str, dict[str, Any]] = {}
    try:
        for name in PHASES:
            if name == "generate" and (work / DUMP_NAME).exists():
                print("generate: reusing the dump in the work directory")
                continue
            results[name] = run_phase(name, work, args)
            r = results[name]
            print(f"{name}: {r['seconds']:.1f}s, peak RSS {_mib(r['max_rss'])} "
                  f"(tree {_mib(r['tree_rss'])})", flush=True)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(args.pg_url).database}" '
                                 "WITH (FORCE)")
        admin.dispose()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
