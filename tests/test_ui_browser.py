"""The Dagster UI as operators use it: a real webserver and daemon, driven by headless Chromium.

Runs launched here come from the UI's asset pages and asset backfills (the implicit
``__ASSET_JOB``), through the queued run coordinator and the multiprocess executor. Each step
saves a screenshot under ``tests/artifacts/ui/`` (git-ignored); a failing test saves one more
and prints its path.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.conftest import CHROMIUM, call_failed, require_chromium
from tests.live_dagster import (
    LiveDagster,
    prepare_warehouse,
    processing,
    project_env,
    wait_until,
)
from tests.live_mirror import PublishingMirror
from tests.orchestration_helpers import SentryStandIn, sentry_stand_in

pytestmark = pytest.mark.slow

BACKFILL = ("2026-01", "2026-02")
BROKEN = "2026-03"  # its data files are published, its CHECKSUM never: an incomplete dump
GROUPS = ("acquisition", "parsing", "warehouse", "caches", "warehouse_schema")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "ui"
# The closed network refuses Chromium's background connections: switch them all off.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
RUN_TIMEOUT_S = 1200  # one month through the multiprocess executor on a busy 2-core machine
UI_TIMEOUT_MS = 30_000
ALERT_SETTLE_S = 10  # several alert-sensor ticks: time for a duplicate alert to show up


@dataclass
class Ui:
    dagster: LiveDagster
    page: Page
    sentry: SentryStandIn
    warehouse_url: str
    data_dir: Path

    def goto(self, path: str) -> None:
        self.page.goto(f"{self.dagster.webserver_url}{path}")

    def shot(self, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        print(f"screenshot: {path}")
        return path

    @property
    def job_partitions_page(self) -> str:
        return f"/locations/{self.dagster.location_name}/jobs/discogs_monthly/partitions"

    def show_run(self, run_id: str, status: str) -> None:
        """The run's page, once it shows ``status`` and its event log has loaded."""
        self.goto(f"/runs/{run_id}")
        expect(self.page.get_by_text(status, exact=True).first).to_be_visible()
        expect(self.page.get_by_text("Loading run logs")).to_have_count(0)

    def row(self, month: str) -> dict[str, Any] | None:
        return processing(self.warehouse_url, self.data_dir).get(month)

    def launch_dialog(self) -> Locator:
        """Press "Materialize…" and return the partition dialog (past the warning that the
        upstream sql/* models were never materialized: the fixture built the schema itself)."""
        self.page.get_by_role("button", name="Materialize…").click()
        dialog = self.page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
        confirm = self.page.get_by_role("button", name="Confirm")
        expect(dialog.or_(confirm)).to_be_visible()
        if confirm.is_visible():
            confirm.click()
        expect(dialog).to_be_visible()
        return dialog

    def choose_partitions(self, dialog: Locator, selection: str, count: int) -> None:
        field = dialog.get_by_placeholder(re.compile(r"^ex: "))
        field.fill(selection)
        field.press("Enter")
        label = "1 partition" if count == 1 else f"{count} partitions"
        expect(dialog.get_by_text(label, exact=True)).to_be_visible()


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    require_chromium()
    root = tmp_path_factory.mktemp("live_ui")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    warehouse_url = f"sqlite:///{root / 'warehouse.sqlite'}"
    with PublishingMirror(root / "mirror", (*BACKFILL, BROKEN)) as mirror, \
            sentry_stand_in() as sentry:
        for month in BACKFILL:
            mirror.publish(month)
        mirror.publish(BROKEN, checksum=False)
        # The schema exists before any monthly run (the sql/* models run directly, not as runs).
        prepare_warehouse(warehouse_url, mirror.identities)
        env = project_env(data_dir=root / "data", dumps_url=mirror.url,
                          warehouse_url=warehouse_url, sentry_dsn=sentry.dsn)
        with LiveDagster(root, env) as dagster, sync_playwright() as playwright:
            dagster.start_daemon()
            url = dagster.start_webserver()
            dagster.start_automation()
            # What "Skip" on the community pop-up does, so it never covers the page.
            httpx.post(f"{url}/graphql", json={"query": "mutation { setNuxSeen }"},
                       timeout=30).raise_for_status()
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            print(f"webserver, daemon and browser ready in {time.monotonic() - started:.0f} s")
            try:
                yield Ui(dagster, page, sentry, warehouse_url, root / "data")
            finally:
                browser.close()


@pytest.fixture(autouse=True)
def _evidence_on_failure(request: pytest.FixtureRequest, ui: Ui) -> Iterator[None]:
    yield
    if call_failed(request.node):
        print(f"page at failure: {ui.page.url}")
        ui.shot(f"FAILED-{request.node.name}")
        print(ui.dagster.describe())


def _asset_run(month: str) -> Callable[[dg.DagsterRun], bool]:
    """A run the UI launched for ``month`` from asset pages or an asset backfill."""
    return lambda run: (run.job_name.startswith("__ASSET_JOB")
                        and run.tags.get("dagster/partition") == month)


def test_the_asset_graph_shows_every_group(ui: Ui) -> None:
    ui.goto("/asset-groups")
    for group in GROUPS:
        expect(ui.page.get_by_title(group, exact=True)).to_be_visible()  # the sidebar's tree
        # the graph's group node (its title is a tooltip)
        expect(ui.page.locator(f'[data-tooltip="{group}"]')).to_be_visible()
    ui.shot("01-asset-graph")


def test_one_partition_materialized_from_the_asset_page(ui: Ui) -> None:
    month = BACKFILL[0]
    ui.goto("/assets/discogs_checksum")
    dialog = ui.launch_dialog()
    ui.choose_partitions(dialog, month, 1)
    ui.shot("02-asset-page-partition-dialog")
    dialog.get_by_role("button", name="Launch 1 run").click()
    run = ui.dagster.wait_for_run(f"the asset page's run for {month}", _asset_run(month),
                                  timeout=RUN_TIMEOUT_S)
    ui.show_run(run.run_id, "Success")
    ui.shot("03-asset-page-run")
    assert run.status is dg.DagsterRunStatus.SUCCESS, ui.dagster.run_errors(run.run_id)
    assert run.asset_selection == {dg.AssetKey("discogs_checksum")}


@pytest.mark.timeout(3000)
def test_two_month_backfill_from_the_partitions_page(ui: Ui) -> None:
    ui.goto(ui.job_partitions_page)
    dialog = ui.launch_dialog()
    ui.choose_partitions(dialog, f"[{BACKFILL[0]}...{BACKFILL[1]}]", 2)
    ui.shot("04-backfill-dialog")
    dialog.get_by_role("button", name="Launch backfill").click()
    backfill = wait_until("the backfill", lambda: ui.dagster.instance.get_backfills(), 60)[0]
    # One run per month (BackfillPolicy.multi_run(1)), named after the job the page belongs to.
    runs = [ui.dagster.wait_for_run(
        f"the backfill's run for {month}",
        lambda r, m=month: r.tags.get("dagster/backfill") == backfill.backfill_id
        and r.tags.get("dagster/partition") == m, timeout=RUN_TIMEOUT_S) for month in BACKFILL]
    ui.goto(f"/runs/b/{backfill.backfill_id}?tab=runs")
    for run in runs:  # the backfill's runs table lists them (by short id)
        expect(ui.page.get_by_text(run.run_id[:8]).first).to_be_visible()
    ui.shot("05-backfill-runs")
    for run in runs:
        assert run.status is dg.DagsterRunStatus.SUCCESS, ui.dagster.run_errors(run.run_id)
    status = {month: str((ui.row(month) or {}).get("status")) for month in BACKFILL}
    assert status == dict.fromkeys(BACKFILL, "completed")
    ui.goto(ui.job_partitions_page)
    ui.shot("06-partitions-after-backfill")


def test_a_failing_month_is_alerted_exactly_once(ui: Ui) -> None:
    ui.goto("/assets/discogs_checksum")
    dialog = ui.launch_dialog()
    ui.choose_partitions(dialog, BROKEN, 1)
    dialog.get_by_role("button", name="Launch 1 run").click()
    run = ui.dagster.wait_for_run(f"the run for {BROKEN}", _asset_run(BROKEN),
                                  timeout=RUN_TIMEOUT_S)
    ui.show_run(run.run_id, "Failure")
    ui.shot("07-failed-run")
    assert run.status is dg.DagsterRunStatus.FAILURE
    assert "CHECKSUM not yet published" in ui.dagster.run_errors(run.run_id)
    row = ui.row(BROKEN)
    assert row is not None and str(row["status"]) == "failed", row

    wait_until(f"an alert for {BROKEN}", lambda: ui.sentry.alerts(BROKEN), 120, 1,
               ui.dagster.describe)
    time.sleep(ALERT_SETTLE_S)
    alerts = ui.sentry.alerts(BROKEN)
    assert len(alerts) == 1, alerts
    assert alerts[0]["tags"]["run_id"] == run.run_id
