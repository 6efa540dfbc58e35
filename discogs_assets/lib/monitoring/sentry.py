"""Sentry: one client per process, from ``SENTRY_DSN``; the only way this project reaches Sentry.

Step exceptions (:func:`capture_step_exception`, with a traceback) and alerts
(:func:`capture_message`, from ``resources.alerts.send_alert``) go through the same global
client, each in an isolated scope so their tags never leak into other events.

Configuration choices, and why:
- ``default_integrations=False`` (which also leaves out the auto-enabling ones): the logging
  integration would turn every ERROR record into an event and every INFO record into a
  breadcrumb. Dagster logs each step failure, retry and failed check at ERROR through Python
  logging, so every failure would arrive two or three times without our tags, and progress
  lines (URLs, paths) would ride along on every event. The stdlib/httpx/SQLAlchemy integrations
  would add breadcrumbs of SQL and requests, and trace headers to requests to the dump host.
  What reaches Sentry here is exactly what the project captures.
- ``include_local_variables=False``: frame locals hold resources and URLs (the warehouse URL
  with its password, the refresh API key); personal data is off too, which is the SDK's default
  (its ``send_default_pii`` switch is deprecated in the locked SDK and warns when passed).
- ``auto_session_tracking=False``: a step is no user session; no session envelopes.
- ``traces_sample_rate=1.0``: with no integration, the only spans are the ones the project
  starts itself (one per identity-caches run, carrying its counters); all of them are kept.
- ``before_send`` (and ``before_send_transaction``) masks credentials in URLs and the values of
  every secret setting (the DSN first) anywhere in the event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

import sentry_sdk
from sentry_sdk.utils import BadDsn, Dsn

from discogs_assets.lib.orchestration.alerts import redact
from discogs_assets.lib.settings import Settings

FLUSH_TIMEOUT_S = 5.0  # a step process may exit right after capturing: deliver first
MASK = "***"
_log = logging.getLogger("discogs.sentry")
_lock = threading.Lock()
# The client this module installed and the (dsn, environment) it was made for.
_installed: tuple[Any, str, str] | None = None


def _secrets(settings: Settings) -> list[str]:
    values = [getattr(settings, f.name) for f in fields(settings) if f.metadata["secret"]]
    found = [str(v) for v in values if v]
    if settings.sentry_dsn:
        found.append(Dsn(settings.sentry_dsn).public_key)  # also alone, not only in the DSN
    # Longest first, so a DSN is masked whole before its key is looked for.
    return sorted({s for s in found if len(s) >= 8}, key=len, reverse=True)


def _scrubber(secrets: list[str]) -> Callable[[Any, Any], Any]:
    """A ``before_send`` that masks ``secrets`` and URL credentials in every string."""

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            for secret in secrets:
                value = value.replace(secret, MASK)
            return redact(value)
        if isinstance(value, Mapping):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [scrub(v) for v in value]
        return value

    return lambda event, hint: scrub(event)


def init_sentry(settings: Settings | None = None) -> bool:
    """Make the process's Sentry client match ``SENTRY_DSN`` / ``SENTRY_ENVIRONMENT``; True when
    events can be sent.

    Idempotent: the same settings again change nothing. Without a DSN there is no client (one
    this module installed before is closed). A DSN that does not parse disables Sentry with a
    warning that does not show it: a bad DSN must not stop the code location from loading.
    """
    global _installed
    s = settings or Settings.from_env()
    dsn, environment = s.sentry_dsn, s.sentry_environment
    with _lock:
        # Ours only while still the global client (a test may have installed its own).
        ours = _installed if _installed and sentry_sdk.get_client() is _installed[0] else None
        if ours and ours[1:] == (dsn, environment):
            return True
        if ours:  # the settings changed (tests; a process never sees its environment move)
            sentry_sdk.get_client().close(timeout=FLUSH_TIMEOUT_S)
            sentry_sdk.get_global_scope().set_client(None)
            _installed = None
        if not dsn:
            return False
        try:
            parsed = Dsn(dsn)
            scrub = _scrubber(_secrets(s))
            sentry_sdk.init(
                dsn=dsn,
                environment=environment or None,
                default_integrations=False,
                include_local_variables=False,
                auto_session_tracking=False,
                traces_sample_rate=1.0,
                before_send=scrub,
                before_send_transaction=scrub,
            )
        except BadDsn as exc:
            _log.warning("SENTRY_DSN does not parse (%s; value not shown): Sentry is off", exc)
            return False
        _installed = (sentry_sdk.get_client(), dsn, environment)
    _log.info("Sentry enabled: host %s, project %s, environment %s", parsed.host,
              parsed.project_id, environment or "production")
    return True


def _capture(send: Callable[[], str | None], tags: Mapping[str, object],
             context: Mapping[str, object] | None) -> str | None:
    """Send one event with ``tags`` in an isolated scope, then flush; the event id, or None
    without Sentry. Never raises: reporting must not mask the failure being reported."""
    try:
        if not init_sentry():
            return None
        with sentry_sdk.isolation_scope() as scope:
            for key, value in tags.items():
                if value is not None:
                    scope.set_tag(key, str(value))
            if context:
                scope.set_context("discogs", dict(context))
            event_id = send()
        sentry_sdk.flush(timeout=FLUSH_TIMEOUT_S)
        return event_id
    except Exception as exc:
        _log.warning("Sentry delivery failed (%s); the failure was logged", type(exc).__name__)
        return None


def capture_step_exception(exc: BaseException, *, month: str | None, asset: str,
                           run_id: str, attempt: int) -> str | None:
    """Send a step's exception with its traceback, tagged month, asset, run_id, attempt."""
    return _capture(lambda: sentry_sdk.capture_exception(exc),
                    {"month": month, "asset": asset, "run_id": run_id, "attempt": attempt},
                    None)


def capture_message(message: str, *, level: str, tags: Mapping[str, object],
                    context: Mapping[str, object] | None = None) -> str | None:
    """Send one message event (an alert)."""
    return _capture(lambda: sentry_sdk.capture_message(message, level=level), tags, context)
