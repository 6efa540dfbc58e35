"""Alert delivery: a structured log line always, Sentry too when ``SENTRY_DSN`` is set.

A dedicated Sentry client (not the global ``sentry_sdk.init``) so alerts never pick up unrelated
process state, and the DSN is read from the environment only: never logged, never in metadata.
"""

from __future__ import annotations

import logging
import os
from functools import cache

import sentry_sdk
from sentry_sdk.utils import BadDsn, Dsn

from discogs_assets.lib.monitoring.verify import CheckFailed
from discogs_assets.lib.orchestration.alerts import Alert

SENTRY_DSN_ENV = "SENTRY_DSN"
SENTRY_ENVIRONMENT_ENV = "SENTRY_ENVIRONMENT"
FLUSH_TIMEOUT_S = 5.0
_log = logging.getLogger("discogs.alerts")


@cache
def _client(dsn: str, environment: str | None) -> sentry_sdk.Client:
    # No default integrations: they would hook logging/threads of the whole Dagster process.
    return sentry_sdk.Client(dsn=dsn, environment=environment, default_integrations=False)


def send_alert(alert: Alert, log: logging.Logger | None = None) -> str | None:
    """Log ``alert`` as one JSON line; send it to Sentry when configured.

    Returns the Sentry event id (None without Sentry). Delivery problems are logged, never
    raised: an alert must not break the sensor that raises it.
    """
    logger = log or _log
    line = alert.log_line()
    if alert.level == "error":
        logger.error(line)
    elif alert.level == "warning":
        logger.warning(line)
    else:
        logger.info(line)
    dsn = os.environ.get(SENTRY_DSN_ENV, "").strip()
    if not dsn:
        return None
    try:
        client = _client(dsn, os.environ.get(SENTRY_ENVIRONMENT_ENV) or None)
        # A forked scope made current only here: tags and client never leak to other code.
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            for key, value in alert.tags().items():
                scope.set_tag(key, value)
            scope.set_context("discogs", {"kind": alert.kind, **alert.extra})
            event_id = scope.capture_message(alert.message, level=alert.level)
        client.flush(timeout=FLUSH_TIMEOUT_S)
        return event_id
    except Exception as exc:  # never let alerting take the sensor down; the log line is out
        logger.warning(f"Sentry delivery failed ({type(exc).__name__}); the alert was logged")
        return None


def check_delivery() -> str:
    """For ``discogs-pipeline verify``: where :func:`send_alert` would deliver with this
    environment. Raises :class:`CheckFailed` when alerts would be lost (the DSN does not parse,
    the alert logger is switched off); the DSN itself is never shown."""
    if not _log.isEnabledFor(logging.WARNING):
        raise CheckFailed(f"the {_log.name} logger drops warnings: alert lines would be lost")
    dsn = os.environ.get(SENTRY_DSN_ENV, "").strip()
    if not dsn:
        return f"{SENTRY_DSN_ENV} unset: alerts are JSON log lines only (logger {_log.name})"
    try:
        parsed = Dsn(dsn)
    except BadDsn as exc:
        raise CheckFailed(f"{SENTRY_DSN_ENV} does not parse ({exc}; value not shown): alerts "
                          "would reach the log only") from None
    return (f"Sentry at {parsed.host} (project {parsed.project_id}); alerts are also logged "
            f"as JSON lines (logger {_log.name})")
