"""One typed settings object from the environment, and the README's table kept true to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from discogs_assets.lib.settings import PRODUCTION_DUMPS_URL, Settings, SettingsError
from resources import build_resources

README = Path(__file__).resolve().parents[1] / "README.md"


def test_defaults_without_any_variable() -> None:
    s = Settings.from_env({})
    assert s == Settings()
    assert (s.dumps_url, s.data_dir, s.warehouse_url, s.ingestion_enabled) == (
        PRODUCTION_DUMPS_URL, Path("data"), "", False)
    assert s.retry_delays_s == (300.0, 1500.0, 7200.0, 21600.0) and s.retry_max_attempts == 5


def test_values_are_parsed_to_their_types() -> None:
    s = Settings.from_env({
        "DISCOGS_DATA_DIR": "/srv/discogs", "DISCOGS_INGESTION_ENABLED": "On",
        "DISCOGS_RETRY_DELAYS_SECONDS": "60, 120", "DISCOGS_KEEP_RAW_MONTHS": "0",
        "DISCOGS_MAX_COUNT_DRIFT": "0.25", "LML_DRY_RUN": "no", "DISCOGS_DUMPS_URL": " ",
    })
    assert s.data_dir == Path("/srv/discogs") and s.ingestion_enabled is True
    assert s.retry_delays_s == (60.0, 120.0) and s.keep_raw_months == 0
    assert s.max_count_drift == 0.25 and s.lml_dry_run is False
    assert s.dumps_url == PRODUCTION_DUMPS_URL  # empty means the default


@pytest.mark.parametrize(("env", "message"), [
    ({"DISCOGS_RETRY_MAX_ATTEMPTS": "five"}, "DISCOGS_RETRY_MAX_ATTEMPTS='five'"),
    ({"DISCOGS_INGESTION_ENABLED": "maybe"}, "DISCOGS_INGESTION_ENABLED='maybe': expected"),
    ({"DISCOGS_RETRY_DELAYS_SECONDS": "5m,25m"}, "comma-separated"),
])
def test_a_bad_value_names_its_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env(env)


def test_secrets_reach_resources_as_env_vars_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCOGS_WAREHOUSE_URL", "postgresql://app:s3cret@db/w")
    monkeypatch.setenv("LML_API_KEY", "k-123")
    resources = build_resources(Settings.from_env())
    shown = repr(resources["warehouse"]) + repr(resources["cache_refresh"])
    assert "s3cret" not in shown and "k-123" not in shown
    assert "DISCOGS_WAREHOUSE_URL" in shown and "LML_API_KEY" in shown


def test_readme_configuration_table_lists_exactly_the_settings() -> None:
    text = README.read_text()
    table = text[text.index("## Configuration"):text.index("## Command line")]
    documented = set(re.findall(r"`((?:DISCOGS|LML|SENTRY)_[A-Z_]+)`", table))
    assert documented == {env for env, _, _ in Settings.documented()}


def test_the_in_step_retry_after_ceiling_reaches_the_dump_source() -> None:
    assert build_resources(Settings())["dump_source"].max_retry_after_seconds == 600.0
    s = Settings.from_env({"DISCOGS_MAX_RETRY_AFTER_SECONDS": "5"})
    assert build_resources(s)["dump_source"].max_retry_after_seconds == 5.0
