"""Alert delivery: a structured log line always, Sentry too when ``SENTRY_DSN`` is set.

Sentry is reached through the process's one client (``discogs_assets.lib.monitoring.sentry``),
each alert in an isolated scope; the DSN is read from the environment only: never logged, never
in metadata or events.
"""

from __future__ import annotations

import logging
import os

from sentry_sdk.utils import BadDsn, Dsn

from discogs_assets.lib.monitoring.sentry import capture_message
from discogs_assets.lib.monitoring.verify import CheckFailed
from discogs_assets.lib.orchestration.alerts import Alert

SENTRY_DSN_ENV = "SENTRY_DSN"
_log = logging.getLogger("discogs.alerts")


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
    return capture_message(alert.message, level=alert.level, tags=alert.tags(),
                           context={"kind": alert.kind, **alert.extra})


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
