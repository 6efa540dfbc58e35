"""Sentry through the SDK's real transport to a local HTTP stand-in: step exceptions with their
traceback and tags, secrets never in an event or a log, one client per process, and a failing
step of a real multiprocess run reaching Sentry before its process exits."""

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sentry_sdk
from pytest_httpserver import HTTPServer

from discogs_assets.defs.month_step import month_step
from discogs_assets.defs.partitions import monthly_partitions
from discogs_assets.lib.caches import sentry_span
from discogs_assets.lib.errors import RetryableError
from discogs_assets.lib.lifecycle import Stage
from discogs_assets.lib.monitoring.sentry import capture_step_exception, init_sentry
from resources.gate import IngestionGateResource
from resources.warehouse import WarehouseResource
from tests.orchestration_helpers import SentryStandIn, make_env

REPO = Path(__file__).resolve().parents[1]
SECRET_URL = "postgresql://app:s3cret@db:5432/warehouse"


@pytest.fixture
def sentry(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[SentryStandIn]:
    stand_in = SentryStandIn(httpserver)
    monkeypatch.setenv("SENTRY_DSN", stand_in.dsn)
    monkeypatch.setenv("SENTRY_ENVIRONMENT", "test")
    yield stand_in
    monkeypatch.delenv("SENTRY_DSN")
    assert not init_sentry()  # closes this test's client: no other test inherits it


def _load_month(dsn: str) -> None:
    raise RuntimeError(f"load failed for {SECRET_URL} (configured Sentry: {dsn})")


def _exception(event: dict) -> dict:
    [value] = event["exception"]["values"]
    return value


def test_step_exception_arrives_with_tags_and_traceback_and_no_secret(
    sentry: SentryStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        try:
            _load_month(sentry.dsn)
        except RuntimeError as exc:
            event_id = capture_step_exception(exc, month="2026-04", asset="warehouse_releases",
                                              run_id="run-7", attempt=2)
    [event] = sentry.events()  # flushed before returning: nothing left in flight
    assert event["event_id"] == event_id
    assert {k: event["tags"][k] for k in ("month", "asset", "run_id", "attempt")} == {
        "month": "2026-04", "asset": "warehouse_releases", "run_id": "run-7", "attempt": "2"}
    assert event["environment"] == "test"
    exception = _exception(event)
    assert exception["type"] == "RuntimeError"
    frames = exception["stacktrace"]["frames"]
    assert [f["function"] for f in frames][-1] == "_load_month"
    assert all("vars" not in f for f in frames)  # no frame locals (they hold secrets)
    assert "user" not in event  # no personal data
    payload = json.dumps(event)
    assert "s3cret" not in payload and "postgresql://***@db" in exception["value"]
    assert sentry.dsn not in payload and "publickey" not in payload
    assert "publickey" not in caplog.text and "s3cret" not in caplog.text
    assert "Sentry enabled: host 127.0.0.1" in caplog.text


def test_init_twice_is_a_no_op(sentry: SentryStandIn) -> None:
    assert init_sentry()
    client = sentry_sdk.get_client()
    assert init_sentry() and sentry_sdk.get_client() is client
    try:
        raise ValueError("once")
    except ValueError as exc:
        capture_step_exception(exc, month=None, asset="a", run_id="r", attempt=1)
    assert len(sentry.events()) == 1


def test_the_identity_caches_span_goes_through_the_same_client(sentry: SentryStandIn) -> None:
    assert init_sentry()
    with sentry_span({"identities_scanned": 3}, name="identity caches"):
        pass
    sentry_sdk.flush()
    [transaction] = sentry.items("transaction")
    assert transaction["transaction"] == "identity caches"
    assert transaction["contexts"]["trace"]["data"]["identities_scanned"] == 3


def test_without_a_dsn_no_client_and_nothing_sent(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in = SentryStandIn(httpserver)
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    assert not init_sentry()
    assert not sentry_sdk.get_client().is_active()
    try:
        raise ValueError("unsent")
    except ValueError as exc:
        assert capture_step_exception(exc, month="2026-04", asset="a", run_id="r",
                                      attempt=1) is None
    assert stand_in.events() == [] and httpserver.log == []


def test_a_dsn_that_does_not_parse_turns_sentry_off_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SENTRY_DSN", "not-a-dsn-k3y")
    assert not init_sentry()
    assert not sentry_sdk.get_client().is_active()
    assert "SENTRY_DSN does not parse" in caplog.text and "k3y" not in caplog.text


def test_failing_step_of_a_multiprocess_run_reaches_sentry(
    sentry: SentryStandIn, tmp_path: Path
) -> None:
    """``dagster job execute`` runs the job with the project's forkserver step executor: the
    step fails in a process of its own and exits right after; its event must be out by then."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    with subprocess.Popen(
        [sys.executable, "-m", "dagster", "job", "execute", "-m", "tests.sentry_probe_location",
         "-j", "sentry_probe_job"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as run:
        output, _ = run.communicate(timeout=300)
    assert run.returncode != 0, output  # the step failed, and so did the run
    [event] = sentry.events()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [record] = instance.get_run_records()
    assert event["tags"]["run_id"] == record.dagster_run.run_id
    assert (event["tags"]["month"], event["tags"]["asset"], event["tags"]["attempt"]) == (
        "2026-04", "sentry_probe", "1")
    exception = _exception(event)
    assert [f["function"] for f in exception["stacktrace"]["frames"]][-1] == "_load_month"
    step_pid = int(exception["value"].split("process ")[1].split()[0])
    assert step_pid != run.pid  # the step ran in a child process, not in the run's own
    assert "s3cret" not in json.dumps(event)
    assert "publickey" not in output


@pytest.mark.parametrize(("error", "reported"), [
    (RetryableError("HTTP 429 from the dump host", retry_after=3600), False),
    (RetryableError("connection reset by the dump host"), True),
], ids=["retry-after", "reset"])
def test_a_wait_the_dump_host_asked_for_is_not_sent_as_an_exception(
    sentry: SentryStandIn, tmp_path: Path, error: RetryableError, reported: bool
) -> None:
    """The host's Retry-After is an expected wait (the month records ``next_retry_at``); any
    other failure of the same step still arrives with its traceback."""
    assert init_sentry()

    @dg.asset(partitions_def=monthly_partitions)
    def raw_labels(context: dg.AssetExecutionContext, gate: IngestionGateResource,
                   warehouse: WarehouseResource) -> None:
        with month_step(context, gate, warehouse, owner="labels", stage=Stage.DOWNLOAD,
                        dump_host="127.0.0.1"):
            raise error

    env = make_env(tmp_path)
    result = dg.materialize([raw_labels], partition_key="2026-04", raise_on_error=False,
                            resources={"gate": env.gate, "warehouse": env.warehouse})
    assert not result.success
    month = env.lifecycle().get("2026-04")
    assert month is not None and month["status"] == "failed"
    assert (month["next_retry_at"] is not None) is not reported
    events = sentry.events()
    assert [_exception(e)["value"] for e in events] == ([str(error)] if reported else [])
