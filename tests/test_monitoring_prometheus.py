"""The alert rules and the dashboard against the real thing.

- ``promtool test rules`` runs the rule unit tests of ``deploy/prometheus/alerts_test.yml``;
  ``promtool check config`` the example scrape configuration.
- A real Prometheus server (its own process, port and TSDB under tmp) loads ``alerts.yml`` and
  scrapes a real exporter over a warehouse with a good month and a silently broken one; the
  series, the silent-failure alert and every dashboard panel's query are checked through its
  HTTP API.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.monitoring_helpers import (
    BROKEN,
    GOOD,
    exporter,
    free_port,
    good_and_broken_warehouse,
    require_tool,
    wait_for,
)

RULES_DIR = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "discogs-pipeline.json"
JOB = "discogs-pipeline"  # the job name DiscogsMetricsDown selects


def test_alert_rules_pass_their_unit_tests() -> None:
    promtool = require_tool("promtool")
    for args in (["test", "rules", "alerts_test.yml"], ["check", "config", "prometheus.yml"]):
        done = subprocess.run([promtool, *args], cwd=RULES_DIR, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"


def test_every_alert_rule_has_a_unit_test() -> None:
    rules = [r for g in yaml.safe_load((RULES_DIR / "alerts.yml").read_text())["groups"]
             for r in g["rules"]]
    tests = yaml.safe_load((RULES_DIR / "alerts_test.yml").read_text())["tests"]
    tested_alerts = {a["alertname"] for t in tests for a in t.get("alert_rule_test", [])}
    tested_records = {e["expr"] for t in tests for e in t.get("promql_expr_test", [])}
    assert {r["alert"] for r in rules if "alert" in r} == tested_alerts
    assert {r["record"] for r in rules if "record" in r} <= tested_records
    # each alert is also seen firing somewhere (not only asserted quiet)
    firing = {a["alertname"] for t in tests for a in t.get("alert_rule_test", [])
              if a.get("exp_alerts")}
    assert firing == tested_alerts


@dataclass(frozen=True)
class Live:
    api: str

    def get(self, path: str, **params: str) -> dict[str, Any]:
        url = f"{self.api}/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:  # a bad query: Prometheus says why in JSON
            return json.loads(exc.read().decode())

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = self.get("query", query=expr)
        assert answer["status"] == "success", f"{expr}: {answer}"
        return answer["data"]["result"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    prometheus = require_tool("prometheus")
    tmp = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{tmp / 'warehouse.sqlite'}"
    good_and_broken_warehouse(url, tmp).dispose()
    env = {**os.environ, "DISCOGS_WAREHOUSE_URL": url, "DISCOGS_DATA_DIR": str(tmp)}
    with exporter(env) as metrics_url:
        target = urllib.parse.urlsplit(metrics_url).netloc
        config = tmp / "prometheus.yml"
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": "2s", "scrape_timeout": "2s",
                       "evaluation_interval": "1s"},
            "rule_files": [str(RULES_DIR / "alerts.yml")],
            "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [target]}]}],
        }))
        port = free_port()
        log = tmp / "prometheus.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=out, stderr=subprocess.STDOUT)
        try:
            live = Live(f"http://127.0.0.1:{port}/api/v1")

            def ready() -> bool:
                if proc.poll() is not None:
                    pytest.fail(f"prometheus exited with {proc.returncode}: {log.read_text()}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready",
                                                timeout=2) as response:
                        return response.status == 200
                except OSError:
                    return False

            wait_for("prometheus to be ready", ready, 60)
            wait_for("a successful scrape of the exporter",
                     lambda: live.query(f'up{{job="{JOB}"}} == 1'), 60)
            yield live
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def test_prometheus_has_the_pipeline_series(live: Live) -> None:
    names = {r["metric"]["__name__"] for r in live.query('{__name__=~"discogs_.+"}')}
    assert {
        "discogs_month_status", "discogs_month_retry_count", "discogs_month_retries_exhausted",
        "discogs_month_completed_timestamp_seconds", "discogs_entity_records",
        "discogs_entity_changes", "discogs_entity_dangling_references", "discogs_phase_seconds",
        "discogs_phase_bytes", "discogs_parser_version_info", "discogs_entity_parser_outdated",
        "discogs_entity_silent_failure", "discogs_silent_failure_months",
        "discogs_last_completed_month_timestamp_seconds", "discogs_current_month_completed",
        "discogs_current_month_start_timestamp_seconds", "discogs_month_retries_total",
        "discogs_identity_cache_last_run", "discogs_data_dir_free_bytes",
    } <= names
    silent = live.query("discogs_entity_silent_failure == 1")
    assert [(r["metric"]["month"], r["metric"]["entity"]) for r in silent] == [(BROKEN, "labels")]
    loaded = live.query(f'discogs_entity_records{{month="{GOOD}",stage="loaded"}}')
    assert {r["metric"]["entity"]: r["value"][1] for r in loaded} == {
        "labels": "3", "artists": "3", "masters": "1", "releases": "3"}


def test_the_silent_failure_alert_fires(live: Live) -> None:
    def firing() -> list[dict[str, str]]:
        return [a["labels"] for a in live.get("alerts")["data"]["alerts"]
                if a["state"] == "firing"]

    def named(name: str) -> list[dict[str, str]]:
        return [labels for labels in firing() if labels["alertname"] == name]

    silent = wait_for("DiscogsMonthCompletedWithZeroRecords to fire",
                      lambda: named("DiscogsMonthCompletedWithZeroRecords"), 60)
    assert silent == [{"alertname": "DiscogsMonthCompletedWithZeroRecords", "month": BROKEN,
                       "entity": "labels", "severity": "critical"}]
    # the good month's caches found one identity of two: stale references, from real counters
    stale = wait_for("DiscogsStaleIdentityReferences to fire",
                     lambda: named("DiscogsStaleIdentityReferences"), 30)
    assert [labels["month"] for labels in stale] == [GOOD]
    # rules without a `for` that must stay quiet on this warehouse
    quiet = {"DiscogsMonthRetriesExhausted", "DiscogsNoMonthCompletedIn40Days"}
    assert not quiet & {labels["alertname"] for labels in firing()}


def _panel_queries(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for panel in panels:
        yield from _panel_queries(panel.get("panels", []))  # rows nest panels
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def test_every_dashboard_query_is_valid_and_non_empty(live: Live) -> None:
    queries = list(_panel_queries(json.loads(DASHBOARD.read_text())["panels"]))
    assert len(queries) >= 15
    deadline = time.monotonic() + 30  # rate-style queries need a second sample
    for title, expr in queries:
        assert "$" not in expr, f"{title}: a Grafana variable cannot be checked here: {expr}"
        while not (result := live.query(expr)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert result, f"panel {title!r}: {expr} returned no series"
