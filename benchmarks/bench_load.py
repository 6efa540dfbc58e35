"""Warehouse load benchmark: rows/s for a first load and a steady-state month, PostgreSQL and
SQLite, against a bare COPY of the same rows measured in the same run.

    uv run python benchmarks/bench_load.py [--rows 1000000] [--runs 3] [--pg-url URL]
                                           [--skip-sqlite]

Generates a releases month in the contract's shape (about 19 rows per release over all 12
release tables) and a next month with about 3 % of releases edited, 0.5 % removed and 0.5 %
added. Each run starts from an empty schema in a scratch PostgreSQL database (created and
dropped here) and a fresh SQLite file; each PostgreSQL phase starts after a CHECKPOINT.
Reported: medians over runs, input rows (all tables) per second, the first-load / bare-COPY
ratio (target >= 0.5) and the steady-state speed-up over the first load (target >= 5), and
peak RSS. Each phase's CPU seconds are reported too, of this process (all its threads) and of
the benchmark's PostgreSQL backends (read from /proc when the server runs on this machine):
on a shared machine they vary far less than wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from discogs_assets.lib.tables import tables_for
from discogs_assets.lib.warehouse import load_month, make_engine, redact_url, run_models
from discogs_assets.lib.warehouse.bulk import copy_frame, quote
from discogs_assets.lib.warehouse.engine import APPLICATION_NAME
from discogs_assets.lib.warehouse.schema import sql_type

SPECS = tables_for("releases")
PER_RELEASE = {  # child rows per release
    "release_artist": 2, "release_label": 1, "release_series": 0, "release_format": 1,
    "release_genre": 1, "release_style": 2, "release_track": 8, "release_track_artist": 2,
    "release_identifier": 1, "release_video": 0, "release_company": 1,
}
ROWS_PER_RELEASE = 1 + sum(PER_RELEASE.values())


def _column(name: str, dtype: pl.DataType, idx: pl.Expr, seq: pl.Expr) -> pl.Expr:
    if isinstance(dtype, pl.List):
        return pl.concat_list(pl.lit("LP"), pl.format("Desc {}", seq)).alias(name)
    if dtype == pl.Boolean:
        return (seq % 2 == 0).alias(name)
    if dtype == pl.Int32:
        return (seq % 1000).cast(pl.Int32).alias(name)
    if dtype == pl.Int64:
        return ((idx * 7919) % 2_000_003).alias(name)
    return pl.format(f"{name} {{}} of {{}}", seq, idx).alias(name)


def generate(releases: int) -> dict[str, pl.DataFrame]:
    """One month of releases in the contract's exact dtypes."""
    frames: dict[str, pl.DataFrame] = {}
    for spec in SPECS:
        per = 1 if spec.is_root else PER_RELEASE[spec.name]
        base = pl.DataFrame({"_row": pl.int_range(0, releases * per, eager=True)})
        idx = pl.col("_row") // per if per else pl.col("_row")
        seq = pl.col("_row") % per if per else pl.lit(0, dtype=pl.Int64)
        exprs = []
        for name, dtype in spec.columns.items():
            if name == spec.parent_key:
                exprs.append((idx + 1).alias(name))
            elif name in ("position", "track_idx"):
                exprs.append(seq.cast(pl.Int32).alias(name))
            elif name == "extra":
                exprs.append(pl.lit(False).alias(name))
            else:
                exprs.append(_column(name, dtype, idx, seq))
        frames[spec.name] = base.select(exprs).cast(spec.columns)
    return frames


def next_month(frames: dict[str, pl.DataFrame], releases: int) -> dict[str, pl.DataFrame]:
    """About 3 % of releases edited (title or a track), 0.5 % removed, 0.5 % added."""
    out = dict(frames)
    edit = pl.col("id") % 33 == 0
    out["release"] = frames["release"].with_columns(
        title=pl.when(edit).then(pl.lit("edited title")).otherwise(pl.col("title")))
    removed = pl.col("release_id") % 200 == 1
    for spec in SPECS[1:]:
        out[spec.name] = out[spec.name].filter(~removed)
    out["release"] = out["release"].filter(pl.col("id") % 200 != 1)
    added = generate(releases // 200)
    for spec in SPECS:
        shifted = added[spec.name].with_columns(pl.col(spec.parent_key) + 10 * releases)
        out[spec.name] = pl.concat([out[spec.name], shifted])
    return out


def write(frames: dict[str, pl.DataFrame], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, df in frames.items():
        df.write_parquet(out / f"{name}.parquet")
    return out


Measured = tuple[float, float, float | None]


def bare_copy(engine: sa.Engine, parsed: Path) -> Measured:
    """Parquet → COPY into plain tables of the same columns (no keys, no indexes)."""
    with engine.begin() as conn:
        for spec in SPECS:
            cols = ", ".join(f"{quote(c)} {sql_type(t).replace('{{ json }}', 'JSONB')}"
                             for c, t in spec.columns.items())
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS bare_{spec.name}")
            conn.exec_driver_sql(f"CREATE TABLE bare_{spec.name} ({cols})")

    def copy_all() -> None:
        with engine.begin() as conn:
            for spec in SPECS:
                copy_frame(conn, f"bare_{spec.name}",
                           pl.read_parquet(parsed / f"{spec.name}.parquet"))

    result = measured(engine, copy_all)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {', '.join(f'bare_{s.name}' for s in SPECS)}")
    return result


def reset_pg(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    run_models(engine)


def settle(engine: sa.Engine) -> None:
    """CHECKPOINT, so one phase's dirty pages are not written during the next (months are
    loaded minutes apart, with checkpoints in between); skipped without the privilege."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CHECKPOINT")
    except sa.exc.DBAPIError as exc:
        print(f"(no CHECKPOINT between phases: {exc.orig})")


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def backend_cpu(engine: sa.Engine) -> dict[int, float] | None:
    """CPU seconds so far of each of the benchmark's server backends, or None when the
    server's processes cannot be read here (a remote server)."""
    with engine.connect() as conn:
        pids = conn.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = :a"), {"a": APPLICATION_NAME}).scalars().all()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu: dict[int, float] = {}
    for pid in pids:
        try:  # utime and stime: fields 14 and 15, after "pid (comm)"
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return cpu


def measured(engine: sa.Engine, fn: Callable[[], object]) -> Measured:
    """Wall seconds, this process's CPU seconds and the server backends' CPU seconds."""
    server, client = backend_cpu(engine), time.process_time()
    wall = timed(fn)
    client, after = time.process_time() - client, backend_cpu(engine)
    if server is None or after is None:
        return wall, client, None
    return wall, client, sum(v - server.get(pid, 0.0) for pid, v in after.items())


def sqlite_run(db: Path, month_a: Path, month_b: Path) -> tuple[float, float]:
    lite = make_engine(f"sqlite:///{db}")
    run_models(lite)
    first = timed(lambda: load_month(lite, month="2026-01", entity="releases",
                                     parsed_dir=month_a, log=lambda _: None))
    steady = timed(lambda: load_month(lite, month="2026-02", entity="releases",
                                      parsed_dir=month_b, log=lambda _: None))
    lite.dispose()
    return first, steady


def _cpu(cpu: tuple[float, float | None]) -> str:
    client, server = cpu
    return f"client {client:.2f}s + server " + ("n/a" if server is None else f"{server:.2f}s")


def _median_cpu(runs: list[tuple[float, float | None]]) -> tuple[float, float | None]:
    servers = [server for _, server in runs if server is not None]
    return (statistics.median(client for client, _ in runs),
            statistics.median(servers) if len(servers) == len(runs) else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows over all tables")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get(
        "DISCOGS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="an existing database used to create a scratch database")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()

    releases = max(args.rows // ROWS_PER_RELEASE, 200)
    tmp = Path(tempfile.mkdtemp(prefix="bench_load_"))
    t0 = time.perf_counter()
    first = generate(releases)
    month_a = write(first, tmp / "2026-01" / "releases")
    month_b = write(next_month(first, releases), tmp / "2026-02" / "releases")
    rows_a = sum(df.height for df in first.values())
    del first
    print(f"generated {releases:,} releases = {rows_a:,} rows in {len(SPECS)} tables "
          f"({time.perf_counter() - t0:.1f}s) in {tmp}")

    scratch = f"bench_load_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(sa.make_url(args.pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{scratch}"')
    pg_url = sa.make_url(args.pg_url).set(database=scratch)
    print(f"PostgreSQL scratch database: {redact_url(pg_url)}")
    pg = make_engine(pg_url)
    times: dict[str, list[float]] = {k: [] for k in (
        "bare_copy", "pg_first", "pg_steady", "sqlite_first", "sqlite_steady")}
    cpu: dict[str, list[tuple[float, float | None]]] = {k: [] for k in times}

    def record(phase: str, result: Measured) -> None:
        times[phase].append(result[0])
        cpu[phase].append(result[1:])

    def pg_load(month: str, parsed: Path) -> Measured:
        settle(pg)
        return measured(pg, lambda: load_month(pg, month=month, entity="releases",
                                               parsed_dir=parsed, log=lambda _: None))

    try:
        for run in range(args.runs):
            reset_pg(pg)
            settle(pg)
            record("bare_copy", bare_copy(pg, month_a))
            record("pg_first", pg_load("2026-01", month_a))
            record("pg_steady", pg_load("2026-02", month_b))
            if not args.skip_sqlite:
                first_s, steady_s = sqlite_run(tmp / f"run{run}.sqlite", month_a, month_b)
                times["sqlite_first"].append(first_s)
                times["sqlite_steady"].append(steady_s)
            print(f"run {run + 1}: " + ", ".join(
                f"{k} {v[-1]:.2f}s" + (f" (cpu {_cpu(cpu[k][-1])})" if cpu[k] else "")
                for k, v in times.items() if v))
    finally:
        pg.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in times.items() if v}
    print(f"\nmedians of {args.runs} runs, {rows_a:,} input rows (steady month ≈ same size):")
    for key, seconds in med.items():
        print(f"  {key:<14} {seconds:8.2f}s  {rows_a / seconds:>12,.0f} rows/s"
              + (f"  cpu {_cpu(_median_cpu(cpu[key]))}" if cpu[key] else ""))
    print(f"  PG first load / bare COPY speed: {med['bare_copy'] / med['pg_first']:.2f}x "
          "(target >= 0.5)")
    print(f"  PG steady-state speed-up over first load: {med['pg_first'] / med['pg_steady']:.1f}x "
          "(target >= 5)")
    if "sqlite_first" in med:
        print(f"  SQLite steady-state speed-up over first load: "
              f"{med['sqlite_first'] / med['sqlite_steady']:.1f}x")
    print(f"  peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
