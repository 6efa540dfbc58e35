"""``discogs-pipeline``: the project's command line (sample mirror, parse, identities, demo)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from discogs_assets.lib.errors import PipelineError


def _migrated_warehouse(url: str | None) -> sa.Engine:
    from resources.warehouse import WarehouseResource

    return WarehouseResource.from_environment(url).migrate()


def _cmd_sample_mirror(args: argparse.Namespace) -> int:
    from discogs_assets.lib.sample_mirror import build_sample_mirror

    summary = build_sample_mirror(Path(args.dir), months=args.months, scale=args.scale)
    for month, info in summary.months.items():
        counts = ", ".join(f"{k}={v}" for k, v in info.counts.items())
        print(f"{month}: dump {info.dump_date} {counts}")
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
        "seconds": round(result.seconds, 3), "mb_per_s": round(result.mb_per_s, 1),
        "records_per_s": round(result.records_per_s, 1), "parser_version": result.parser_version,
        "bad_records": len(result.bad_records),
    }, indent=2))
    return 0


def _cmd_identities_import(args: argparse.Namespace) -> int:
    from discogs_assets.lib.caches import import_identities

    report = import_identities(_migrated_warehouse(args.warehouse_url), Path(args.file))
    print(report)
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
    from discogs_assets.instance import ensure_dagster_home

    print(ensure_dagster_home())
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from discogs_assets.demo import run_demo

    return run_demo(args.months, args.scale)


def build_parser() -> argparse.ArgumentParser:
    from discogs_assets.lib.sample_mirror import DEFAULT_MONTHS

    parser = argparse.ArgumentParser(prog="discogs-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample-mirror", help="write a realistic local dump mirror")
    p.add_argument("dir")
    p.add_argument("--months", nargs="+", default=list(DEFAULT_MONTHS), metavar="YYYY-MM")
    p.add_argument("--scale", type=int, default=1)
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

    p = sub.add_parser("identities", help="manage the identities the caches are warmed for")
    isub = p.add_subparsers(dest="identities_command", required=True)
    ip = isub.add_parser("import", help="import (upsert) identities from a CSV file, atomically")
    ip.add_argument("file")
    ip.add_argument("--warehouse-url", default=None)
    ip.set_defaults(func=_cmd_identities_import)

    p = sub.add_parser("gate", help="show or flip feature_discog_ingestion in the warehouse")
    p.add_argument("action", choices=["status", "on", "off"])
    p.add_argument("--note", default=None)
    p.add_argument("--warehouse-url", default=None)
    p.set_defaults(func=_cmd_gate)

    p = sub.add_parser("init-home", help="create the local DAGSTER_HOME and print its path")
    p.set_defaults(func=_cmd_init_home)

    p = sub.add_parser("demo", help="sample mirror + full chain for its months + summary")
    p.add_argument("--months", nargs="+", default=list(DEFAULT_MONTHS), metavar="YYYY-MM")
    p.add_argument("--scale", type=int, default=1)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PipelineError as exc:  # expected failures: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
