"""``discogs-pipeline``: the project's command line (sample mirror, parse, identities, demo)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from discogs_assets.lib.errors import PipelineError
from discogs_assets.lib.settings import Settings

if TYPE_CHECKING:
    import sqlalchemy as sa

    from discogs_assets.lib.caches import PurgeCounts

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]  # what add_subparsers returns

# Each command imports what it needs when it runs: `--help` and `parse` must not pay for
# Dagster, pandera or SQLAlchemy (tests/test_cli.py holds them to it).


def _migrated_warehouse(url: str | None) -> sa.Engine:
    from resources.warehouse import WarehouseResource

    return WarehouseResource.from_environment(url).migrate()


def _cmd_sample_mirror(args: argparse.Namespace) -> int:
    from discogs_assets.lib.sample_mirror import SampleMirrorError, build_sample_mirror

    formats = args.formats or []
    if len(formats) not in (0, 1, len(args.months)):
        raise SampleMirrorError(f"--formats takes one layout for all months or one per month "
                                f"({len(args.months)}), not {len(formats)}")
    if len(formats) == 1:
        formats = formats * len(args.months)
    summary = build_sample_mirror(Path(args.dir), months=args.months, scale=args.scale,
                                  formats=dict(zip(args.months, formats, strict=False)))
    for month, info in summary.months.items():
        counts = ", ".join(f"{k}={v}" for k, v in info.counts.items())
        print(f"{month}: dump {info.dump_date} ({info.format} layout) {counts}")
    print(f"mirror written to {Path(args.dir).resolve()} (use DISCOGS_DUMPS_URL="
          f"{Path(args.dir).resolve().as_uri()})")
    return 0


def _cmd_serve_mirror(args: argparse.Namespace) -> int:
    from discogs_assets.lib.acquisition.mirror_server import MirrorServer

    with MirrorServer(Path(args.dir), host=args.host, port=args.port) as server:
        print(f"serving {Path(args.dir).resolve()} at {server.url} "
              f"(DISCOGS_DUMPS_URL={server.url}); Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0


def _cmd_parse(args: argparse.Namespace) -> int:
    from discogs_assets.lib.parsing import parse_dump

    result = parse_dump(Path(args.input), Path(args.out), entity=args.entity,
                        workers=args.workers, engine=args.engine,
                        max_bad_records=args.max_bad_records)
    print(json.dumps({
        "entity": result.entity, "records": result.records, "row_counts": result.row_counts,
        "bytes_xml": result.bytes_xml, "seconds": round(result.seconds, 3),
        "mb_per_s": round(result.mb_per_s, 1),
        "records_per_s": round(result.records_per_s, 1), "parser_version": result.parser_version,
        "bad_records": len(result.bad_records),
    }, indent=2))
    return 0


def _cmd_identities_import(args: argparse.Namespace) -> int:
    from discogs_assets.lib.caches import import_identities

    report = import_identities(_migrated_warehouse(args.warehouse_url), Path(args.file))
    print(f"rows={report.rows} inserted={report.inserted} updated={report.updated} "
          f"unchanged={report.unchanged} flagged={report.flagged} "
          f"{_purged(report.purged)}")
    return 0


def _purged(counts: PurgeCounts) -> str:
    return (f"purged cache_release={counts.cache_release} cache_master={counts.cache_master} "
            f"cache_artist={counts.cache_artist}")


def _cmd_identities_flag(args: argparse.Namespace) -> int:
    from discogs_assets.lib.caches import flag_identity

    counts = flag_identity(_migrated_warehouse(args.warehouse_url), args.identity_id,
                           args.note or None)
    print(f"identity {args.identity_id} flagged discogs_unavailable; {_purged(counts)}")
    return 0


def _cmd_identities_migrate_ids(args: argparse.Namespace) -> int:
    from discogs_assets.lib.caches import migrate_identity_ids

    done = migrate_identity_ids(_migrated_warehouse(args.warehouse_url))
    print(f"identity.identity_id is already an integer ({done.rows} identities)"
          if done.already_integer else
          f"identity.identity_id converted to an integer ({done.rows} identities)")
    return 0


def _cmd_gate(args: argparse.Namespace) -> int:
    from discogs_assets.lib.gate import GATE_NAME, gate_state, set_gate
    from discogs_assets.lib.settings import Settings

    engine = _migrated_warehouse(args.warehouse_url)
    if args.action in ("on", "off"):
        set_gate(engine, args.action == "on", note=args.note)
    enabled, source = gate_state(engine, env_enabled=Settings.from_env().ingestion_enabled)
    print(f"{GATE_NAME}: {'ON' if enabled else 'OFF'} (decided by {source})")
    return 0


def _cmd_init_home(args: argparse.Namespace) -> int:
    import dagster as dg

    from discogs_assets.instance import ensure_dagster_home, ensure_pool_limits

    home = ensure_dagster_home()
    with dg.DagsterInstance.get() as instance:
        ensure_pool_limits(instance)
    print(home)
    return 0


def _warehouse_url(url: str | None, settings: Settings) -> str:
    """``--warehouse-url``, else the configured one, else the data directory's SQLite file (as
    ``WarehouseResource`` resolves it, without importing Dagster)."""
    from discogs_assets.lib.layout import default_warehouse_url

    return url or settings.warehouse_url or default_warehouse_url(settings.data_path)


def _cmd_metrics_serve(args: argparse.Namespace) -> int:
    from discogs_assets.lib.monitoring.collector import pipeline_registry
    from discogs_assets.lib.monitoring.server import MetricsServer
    from discogs_assets.lib.monitoring.snapshot import DEFAULT_MONTHS
    from discogs_assets.lib.orchestration.retry import BackoffPolicy
    from discogs_assets.lib.parsing import PARSER_VERSION
    from discogs_assets.lib.warehouse import redact_url

    settings = Settings.from_env()
    url = _warehouse_url(args.warehouse_url, settings)
    months = args.months or DEFAULT_MONTHS
    policy = BackoffPolicy(delays_s=settings.retry_delays_s,
                           max_attempts=settings.retry_max_attempts)
    registry = pipeline_registry(url, settings.data_path, parser_version=PARSER_VERSION,
                                 policy=policy, months=months)
    with MetricsServer(registry, host=args.host, port=args.port) as server:
        print(f"serving metrics of {redact_url(url)} at {server.url} (the newest {months} "
              "months labelled); Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from discogs_assets.instance import check_instance
    from discogs_assets.lib.monitoring.verify import (
        data_dir_check,
        report,
        run_checks,
        warehouse_checks,
    )
    from discogs_assets.lib.parsing import PARSER_VERSION
    from resources.alerts import check_delivery

    settings = Settings.from_env()
    results = run_checks([
        *warehouse_checks(_warehouse_url(args.warehouse_url, settings),
                          parser_version=PARSER_VERSION),
        data_dir_check(settings.data_path),
        ("alerts deliverable", check_delivery),
        ("dagster instance answers", check_instance),
    ])
    print(report(results))
    return 0 if all(r.passed for r in results) else 1


def _cmd_plan_backfill(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from discogs_assets.lib.acquisition import DumpSource
    from discogs_assets.lib.acquisition.listing_cache import YearListings
    from discogs_assets.lib.orchestration.backfill_inputs import gather_and_plan, month_range
    from discogs_assets.lib.parsing import PARSER_VERSION
    from discogs_assets.lib.settings import Settings
    from resources.dump_source import DumpSourceResource
    from resources.warehouse import WarehouseResource

    settings = Settings.from_env()
    try:
        months = month_range(args.from_month, args.to_month)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Planning never sleeps out a Retry-After: it stops asking and plans with what it has.
    host = DumpSourceResource(url=settings.dumps_url).host()
    with DumpSource.from_url(settings.dumps_url, max_attempts=2, max_retry_after=0) as source:
        cache = settings.data_path / "listings" / urlsplit(settings.dumps_url).netloc.replace(
            ":", "_")
        listings = YearListings(source, cache,
                                min_interval_s=args.listing_interval,
                                refresh=args.refresh_listings)
        plan = gather_and_plan(
            months, data_path=settings.data_path,
            engine=WarehouseResource.from_environment(args.warehouse_url).existing_engine(),
            listings=listings, host=host,
            parser_version=PARSER_VERSION, workers=args.workers, order=args.order)
    print(plan.render())
    commands = plan.commands()
    if commands:
        print(f"\nlaunch ({plan.order} first; the run queue takes higher dagster/priority "
              "first, a year's months oldest first):")
        print("\n".join(commands))
    else:
        print("\nnothing to launch")
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from discogs_assets.executors import run_worker
    from discogs_assets.lib.settings import Settings

    queues = [q.strip() for q in args.queue.split(",") if q.strip()]
    try:
        return run_worker(queues, args.name, Settings.from_env())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _cmd_demo(args: argparse.Namespace) -> int:
    from discogs_assets.demo import run_demo

    return run_demo(args.months, args.scale)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="discogs-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_dump_commands(sub)
    _add_warehouse_commands(sub)
    _add_service_commands(sub)
    return parser


def _add_dump_commands(sub: Subparsers) -> None:
    """sample-mirror, serve-mirror, parse: dump files without the pipeline."""
    from discogs_assets.lib.sample_mirror import DEFAULT_MONTHS

    p = sub.add_parser("sample-mirror", help="write a realistic local dump mirror")
    p.add_argument("dir")
    p.add_argument("--months", nargs="+", default=list(DEFAULT_MONTHS), metavar="YYYY-MM")
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--formats", nargs="+", default=None, metavar="LAYOUT",
                   help="XML layout per month (auto = the era of its dump date, 2008, 2020, "
                   "2026): one for all months or one per month")
    p.set_defaults(func=_cmd_sample_mirror)

    p = sub.add_parser("serve-mirror", help="serve a mirror directory like the production host")
    p.add_argument("dir")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.set_defaults(func=_cmd_serve_mirror)

    p = sub.add_parser("parse", help="parse one dump file into Parquet tables")
    p.add_argument("input")
    p.add_argument("--out", required=True)
    p.add_argument("--entity", choices=["labels", "artists", "masters", "releases"])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--engine", choices=["fast", "reference"], default="fast")
    p.add_argument("--max-bad-records", type=int, default=0)
    p.set_defaults(func=_cmd_parse)


def _add_warehouse_commands(sub: Subparsers) -> None:
    """identities, gate, plan-backfill: what an operator changes or asks of the warehouse."""
    p = sub.add_parser("identities", help="manage the identities the caches are warmed for")
    isub = p.add_subparsers(dest="identities_command", required=True)
    ip = isub.add_parser("import", help="import (upsert) identities from a CSV file, atomically")
    ip.add_argument("file")
    ip.add_argument("--warehouse-url", default=None)
    ip.set_defaults(func=_cmd_identities_import)
    ip = isub.add_parser("flag", help="flag one identity 'not on Discogs' and purge its cache "
                         "documents that no unflagged identity uses")
    ip.add_argument("identity_id", type=int)
    ip.add_argument("--note", default=None, help="why (e.g. the false match)")
    ip.add_argument("--warehouse-url", default=None)
    ip.set_defaults(func=_cmd_identities_flag)
    ip = isub.add_parser("migrate-ids", help="convert identity.identity_id from TEXT (older "
                         "warehouses) to an integer column, in one transaction")
    ip.add_argument("--warehouse-url", default=None)
    ip.set_defaults(func=_cmd_identities_migrate_ids)

    p = sub.add_parser("gate", help="show or flip feature_discog_ingestion in the warehouse")
    p.add_argument("action", choices=["status", "on", "off"])
    p.add_argument("--note", default=None)
    p.add_argument("--warehouse-url", default=None)
    p.set_defaults(func=_cmd_gate)

    p = sub.add_parser("plan-backfill", help="what a range of months needs, how long it "
                       "takes, and the backfill commands")
    p.add_argument("--from", dest="from_month", required=True, metavar="YYYY-MM")
    p.add_argument("--to", dest="to_month", required=True, metavar="YYYY-MM")
    p.add_argument("--workers", type=_positive_int, default=2,
                   help="CPU worker slots (Celery cpu-queue concurrency summed over machines)")
    p.add_argument("--order", choices=["newest", "oldest"], default="newest")
    p.add_argument("--refresh-listings", action="store_true",
                   help="ask the host again for years whose listing is cached on disk")
    p.add_argument("--listing-interval", type=float, default=30.0, metavar="SECONDS",
                   help="pause between listing requests (the host bans bursts)")
    p.add_argument("--warehouse-url", default=None)
    p.set_defaults(func=_cmd_plan_backfill)


def _add_service_commands(sub: Subparsers) -> None:
    """worker, metrics, verify, init-home, demo: processes to run and deploy checks."""
    from discogs_assets.lib.sample_mirror import DEFAULT_MONTHS

    p = sub.add_parser("worker", help="a Celery worker running the steps of "
                       "DISCOGS_EXECUTOR=celery runs")
    p.add_argument("--queue", default="io,cpu",
                   help="queues to serve, comma-separated: io (downloads), cpu (parse, load); "
                   "one worker node per queue, each with its own concurrency")
    p.add_argument("--name", default=None,
                   help="node name (default: this machine's host name)")
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser("metrics", help="Prometheus metrics of the pipeline")
    msub = p.add_subparsers(dest="metrics_command", required=True)
    mp = msub.add_parser("serve", help="serve /metrics (read-only, read on each scrape)")
    mp.add_argument("--host", default="127.0.0.1")
    mp.add_argument("--port", type=int, default=9465, help="0 picks a free port")
    mp.add_argument("--months", type=int, default=None,
                    help="newest months exported with a month label, bounding the series "
                    "(default: the current month and a year back)")
    mp.add_argument("--warehouse-url", default=None)
    mp.set_defaults(func=_cmd_metrics_serve)

    p = sub.add_parser("verify", help="health checks after a deploy: prints N/N passed, "
                       "exits non-zero on any failure")
    p.add_argument("--warehouse-url", default=None)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("init-home", help="create the local DAGSTER_HOME (and its pool limits) "
                       "and print its path")
    p.set_defaults(func=_cmd_init_home)

    p = sub.add_parser("demo", help="sample mirror + full chain for its months + summary")
    p.add_argument("--months", nargs="+", default=list(DEFAULT_MONTHS), metavar="YYYY-MM")
    p.add_argument("--scale", type=int, default=1)
    p.set_defaults(func=_cmd_demo)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PipelineError as exc:  # expected failures: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
