"""The metrics endpoint: a small threaded HTTP server around one registry.

``GET /metrics`` answers the Prometheus text format, or 503 with the reason when the warehouse
cannot be read (Prometheus then records ``up == 0`` for the target: see the alert rules). Any
other error is a 500 naming its type; the server keeps serving either way.
"""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from discogs_assets.lib.monitoring.snapshot import WarehouseUnreadable

_log = logging.getLogger("discogs.metrics")
INDEX = b"discogs-pipeline metrics exporter: scrape /metrics\n"


class _Handler(BaseHTTPRequestHandler):
    registry: CollectorRegistry  # set on the per-server subclass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._answer(200, INDEX, "text/plain; charset=utf-8")
        elif path == "/metrics":
            try:
                body = generate_latest(self.registry)
            except WarehouseUnreadable as exc:
                _log.warning(f"metrics unavailable: {exc}")
                self._answer(503, f"metrics unavailable: {exc}\n".encode(),
                             "text/plain; charset=utf-8")
            except Exception as exc:  # a bug must not take the exporter down
                _log.exception("metrics collection failed")
                self._answer(500, f"metrics collection failed: {type(exc).__name__}\n".encode(),
                             "text/plain; charset=utf-8")
            else:
                self._answer(200, body, CONTENT_TYPE_LATEST)
        else:
            self._answer(404, b"not found: scrape /metrics\n", "text/plain; charset=utf-8")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug(format, *args)  # one line per scrape would flood the log


class MetricsServer:
    """``with MetricsServer(registry, host, port) as server: server.serve_forever()``; port 0
    picks a free port (see :attr:`url`)."""

    def __init__(self, registry: CollectorRegistry, host: str = "127.0.0.1",
                 port: int = 9465) -> None:
        handler = type("MetricsHandler", (_Handler,), {"registry": registry})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/metrics"

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def close(self) -> None:
        self._httpd.server_close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
