"""Shared helpers of the orchestration tests: resources, runs in the instance, a Sentry stand-in."""

from __future__ import annotations

import contextlib
import gzip
import json
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from pytest_httpserver import HTTPServer

from discogs_assets.lib.gate import set_gate
from discogs_assets.lib.lifecycle import MonthLifecycle
from resources.dump_source import DumpSourceResource
from resources.gate import IngestionGateResource
from resources.settings import PipelineSettings
from resources.warehouse import WarehouseResource
from tests.queued_run_origin import monthly_code_origin

SENTRY_PROJECT = "42"
# Alerts that say "this month failed" (check failures are alerted apart, per check).
FAILURE_ALERTS = frozenset({"run_failure", "retries_exhausted"})


@dataclass
class Env:
    warehouse: WarehouseResource
    gate: IngestionGateResource
    settings: PipelineSettings

    def lifecycle(self) -> MonthLifecycle:
        """The month lifecycle of a migrated warehouse (tests set months up through it)."""
        return MonthLifecycle(self.warehouse.migrate())

    def flip(self, enabled: bool) -> None:
        """What an operator does: flip the gate in the warehouse's feature_flags table."""
        set_gate(self.warehouse.migrate(), enabled, note="test")

    def resources(self, **extra: Any) -> dict[str, Any]:
        # A local mirror directory unless a test serves one: the retry sensor only asks it
        # which host a Retry-After belongs to.
        mirror = dump_source((Path(self.settings.data_dir).parent / "mirror").as_uri())
        return {"warehouse": self.warehouse, "gate": self.gate, "settings": self.settings,
                "dump_source": mirror, **extra}


def make_env(tmp_path: Path, warehouse_url: str | None = None, *, gate: bool = True) -> Env:
    data_dir = tmp_path / "data"
    warehouse = WarehouseResource(url=warehouse_url or f"sqlite:///{tmp_path / 'wh.sqlite'}",
                                  data_dir=str(data_dir))
    return Env(warehouse, IngestionGateResource(enabled_by_env=gate, warehouse=warehouse),
               PipelineSettings(data_dir=str(data_dir)))


def dump_source(url: str) -> DumpSourceResource:
    # No in-step waits in tests: a long Retry-After must fail fast (it does by default).
    return DumpSourceResource(url=url, max_attempts=1)


def add_run(instance: dg.DagsterInstance, month: str, status: dg.DagsterRunStatus,
            job_name: str = "discogs_monthly") -> dg.DagsterRun:
    """A run record as the daemon would have created it (queued or started)."""
    # A queued run must say where its code lives (the queue launches it from there).
    return instance.add_run(dg.DagsterRun(
        job_name=job_name, run_id=str(uuid.uuid4()), status=status,
        tags={"dagster/partition": month}, remote_job_origin=monthly_code_origin(job_name)))


class SentryStandIn:
    """A real HTTP endpoint on 127.0.0.1 receiving the Sentry SDK's envelopes."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        server.expect_request(f"/api/{SENTRY_PROJECT}/envelope/", method="POST") \
            .respond_with_json({"id": uuid.uuid4().hex})

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.port}/{SENTRY_PROJECT}"

    def events(self) -> list[dict[str, Any]]:
        """Every event item of every envelope received so far."""
        return self.items("event")

    def items(self, kind: str) -> list[dict[str, Any]]:
        """Every item of type ``kind`` (event, transaction, span...) received so far."""
        out = []
        for request, _ in self.server.log:
            body = request.get_data()
            encoding = request.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            lines = body.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == kind:
                    out.append(json.loads(payload))
        return out

    def alerts(self, month: str, kinds: frozenset[str] = FAILURE_ALERTS) -> list[dict[str, Any]]:
        """The events alerting ``kinds`` (the ``alert`` tag) for ``month``."""
        return [e for e in self.events() if e.get("tags", {}).get("month") == month
                and e["tags"].get("alert") in kinds]


@contextlib.contextmanager
def sentry_stand_in() -> Iterator[SentryStandIn]:
    """A Sentry stand-in on its own server, for fixtures wider than one test (the
    ``httpserver`` fixture clears what it received after each test)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield SentryStandIn(server)
    finally:
        server.stop()
