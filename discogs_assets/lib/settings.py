"""Every setting of the project, read from the environment in one place into one typed object.

Each field of :class:`Settings` names its environment variable, its default and what it means;
the README's configuration table is tested against this list. Resources, sensors, the schedule,
the checks and the command line all take their values from here; nothing else reads the
environment for configuration.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

PRODUCTION_DUMPS_URL = "https://data.discogs.com/"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected one of {', '.join(_TRUE + _FALSE)}")


def _seconds_list(text: str) -> tuple[float, ...]:
    wanted = "expected comma-separated non-negative seconds, e.g. 300,1500,7200"
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(wanted) from None
    if not values or any(v < 0 for v in values):
        raise ValueError(wanted)
    return values


_PARSERS: dict[Any, Callable[[str], Any]] = {
    "str": str.strip, "int": int, "float": float, "bool": _flag, "Path": Path,
    "tuple[float, ...]": _seconds_list,
}


def env(name: str, help: str, *, secret: bool = False) -> dict[str, Any]:
    """A field's metadata: read from ``name``; ``secret`` values never reach the UI, logs or
    metadata."""
    return {"env": name, "help": help, "secret": secret}


@dataclass(frozen=True)
class Settings:
    # -- where things are
    dumps_url: str = field(default=PRODUCTION_DUMPS_URL, metadata=env(
        "DISCOGS_DUMPS_URL",
        "dump source: the production host (or a stand-in speaking its protocol), an S3-style "
        "listing, or a `file://` directory laid out as `data/YYYY/discogs_YYYYMMDD_<kind>...`"))
    data_dir: Path = field(default=Path("data"), metadata=env(
        "DISCOGS_DATA_DIR", "raw and parsed files, default warehouse and Dagster home"))
    warehouse_url: str = field(default="", metadata=env(
        "DISCOGS_WAREHOUSE_URL",
        "SQLAlchemy URL (empty: a SQLite file `warehouse.sqlite` in the data directory); "
        "PostgreSQL in production, e.g. `postgresql+psycopg://user:pass@host/db`", secret=True))
    ingestion_enabled: bool = field(default=False, metadata=env(
        "DISCOGS_INGESTION_ENABLED",
        "the ingestion gate `feature_discog_ingestion` (a row in the warehouse's "
        "`feature_flags` table wins)"))
    max_retry_after_s: float = field(default=600.0, metadata=env(
        "DISCOGS_MAX_RETRY_AFTER_SECONDS",
        "longest `Retry-After` from the dump host waited out inside a step; a longer one fails "
        "the month for the retry sensor"))
    track_title_index: bool = field(default=False, metadata=env(
        "DISCOGS_TRACK_TITLE_INDEX",
        "build the opt-in hash index on `release_track.title` (exact track-title lookups; see "
        "Warehouse)"))
    # -- execution
    executor: str = field(default="multiprocess", metadata=env(
        "DISCOGS_EXECUTOR",
        "how a run executes its steps: `multiprocess` (processes on this machine) or `celery` "
        "(Celery workers on any machine, see Scaling out)"))
    celery_broker: str = field(default="amqp://guest:guest@127.0.0.1:5672//", metadata=env(
        "DISCOGS_CELERY_BROKER", "the Celery broker (RabbitMQ) runs and workers share",
        secret=True))
    celery_queue_prefix: str = field(default="discogs-", metadata=env(
        "DISCOGS_CELERY_QUEUE_PREFIX",
        "prefix of the Celery queue names (`discogs-io`, `discogs-cpu`): one per deployment "
        "sharing a broker"))
    celery_io_concurrency: int = field(default=2, metadata=env(
        "DISCOGS_CELERY_IO_CONCURRENCY",
        "steps a worker runs at once from the `io` queue (downloads: `discogs_checksum`, "
        "`raw_*`)"))
    celery_cpu_concurrency: int = field(default=0, metadata=env(
        "DISCOGS_CELERY_CPU_CONCURRENCY",
        "steps a worker runs at once from the `cpu` queue (parse, load, checks; 0: one per "
        "core)"))
    # -- alerts
    sentry_dsn: str = field(default="", metadata=env(
        "SENTRY_DSN", "send failures and alerts to Sentry", secret=True))
    sentry_environment: str = field(default="", metadata=env(
        "SENTRY_ENVIRONMENT", "Sentry environment tag"))
    # -- automation
    new_dump_interval_s: int = field(default=21600, metadata=env(
        "DISCOGS_NEW_DUMP_INTERVAL_SECONDS",
        "new-dump sensor poll interval (one listing request per tick)"))
    dump_late_day: int = field(default=10, metadata=env(
        "DISCOGS_DUMP_LATE_DAY",
        "day of the month (1-31) from which an unpublished dump is late: the daily schedule "
        "alerts once a day"))
    retry_delays_s: tuple[float, ...] = field(
        default=(300.0, 1500.0, 7200.0, 21600.0), metadata=env(
            "DISCOGS_RETRY_DELAYS_SECONDS",
            "retry sensor backoff after the 1st, 2nd, ... failed attempt (the last repeats)"))
    retry_max_attempts: int = field(default=5, metadata=env(
        "DISCOGS_RETRY_MAX_ATTEMPTS", "attempts of a month before the retry sensor gives up"))
    retry_tick_s: int = field(default=60, metadata=env(
        "DISCOGS_RETRY_TICK_SECONDS", "how often the retry sensor runs"))
    gate_watch_tick_s: int = field(default=60, metadata=env(
        "DISCOGS_GATE_WATCH_TICK_SECONDS", "how often the gate-watch sensor runs"))
    check_alert_tick_s: int = field(default=120, metadata=env(
        "DISCOGS_CHECK_ALERT_TICK_SECONDS", "how often the check-failure alert sensor runs"))
    # -- checks and housekeeping
    max_count_drift: float = field(default=0.10, metadata=env(
        "DISCOGS_MAX_COUNT_DRIFT",
        "allowed change of a month's record count against the previous month (blocking)"))
    max_missing_key_share: float = field(default=0.01, metadata=env(
        "DISCOGS_MAX_MISSING_KEY_SHARE", "share of records without name/title before a warning"))
    freshness_days: float = field(default=3.0, metadata=env(
        "DISCOGS_FRESHNESS_DAYS", "days from a month's CHECKSUM appearing to the month completed"))
    keep_raw_months: int = field(default=2, metadata=env(
        "DISCOGS_KEEP_RAW_MONTHS",
        "raw dumps kept: the newest N months; older ones are deleted once their load completed "
        "(0 keeps everything)"))
    keep_parsed_months: int = field(default=3, metadata=env(
        "DISCOGS_KEEP_PARSED_MONTHS",
        "parsed output kept: the newest N months, always the current one; older completed "
        "months are deleted (0 keeps everything)"))
    min_free_disk_gb: float = field(default=20.0, metadata=env(
        "DISCOGS_MIN_FREE_DISK_GB",
        "the daily summary warns when the data directory's disk has less free (GB, 10^9 bytes)"))
    # -- remote metadata-lookup cache refresh
    lml_base_url: str = field(default="", metadata=env(
        "LML_BASE_URL", "remote metadata-lookup cache refresh (see Identity caches)"))
    lml_api_key: str = field(default="", metadata=env(
        "LML_API_KEY", "its bearer key", secret=True))
    lml_batch_size: int = field(default=50, metadata=env(
        "LML_REFRESH_BATCH_SIZE", "ids per refresh batch (above 50 refuses to start)"))
    lml_batches_per_minute: float = field(default=20.0, metadata=env(
        "LML_BATCHES_PER_MINUTE",
        "refresh requests per minute (the probe and retries included), one budget shared by "
        "every run of the instance"))
    lml_concurrency: int = field(default=3, metadata=env(
        "LML_CONCURRENCY", "refresh batches in flight at once"))
    lml_batch_timeout_s: float = field(default=360.0, metadata=env(
        "LML_BATCH_TIMEOUT_S", "seconds one refresh batch may take"))
    lml_dry_run: bool = field(default=False, metadata=env(
        "LML_DRY_RUN", "log what would be sent, send nothing"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every setting from ``env`` (default: the process environment); an unset or empty
        variable takes the default; a bad value raises naming the variable."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = source.get(f.metadata["env"], "").strip()
            if not raw:
                continue
            try:
                values[f.name] = _PARSERS[str(f.type)](raw)
            except ValueError as exc:
                shown = "(hidden)" if f.metadata["secret"] else repr(raw)
                raise SettingsError(f"{f.metadata['env']}={shown}: {exc}") from None
        return cls(**values)

    def __post_init__(self) -> None:
        if not 1 <= self.dump_late_day <= 31:
            raise SettingsError(f"DISCOGS_DUMP_LATE_DAY={self.dump_late_day}: expected a day "
                                "of the month, 1-31")

    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @classmethod
    def documented(cls) -> list[tuple[str, Any, str]]:
        """(environment variable, default, meaning) of every setting, in declaration order."""
        out = []
        for f in fields(cls):
            assert f.default is not MISSING
            out.append((f.metadata["env"], f.default, f.metadata["help"]))
        return out

    @classmethod
    def secret_variables(cls) -> tuple[str, ...]:
        return tuple(f.metadata["env"] for f in fields(cls) if f.metadata["secret"])

