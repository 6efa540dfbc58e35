"""A local stand-in of the LML service's refresh endpoint, written from its contract alone.

``POST /api/v1/cache/refresh-for-identities`` with ``Authorization: Bearer <key>`` and
``{"identity_ids": [<int>, ...]}``:

- 401 for a missing or wrong key; 404 for any other path; 405 for another method;
- 422 when the body is not an object holding a list of integers, or the list is empty;
- 400 above ``cap`` ids (50);
- 200 ``{"results": [{"identity_id", "status", "sources", "message"}]}`` with status
  ``warmed | not_found | not_implemented | error``; a warmed identity has
  ``sources.discogs_release = {"release_outcome", "artists": [{"external_id", "outcome",
  "message"}]}``, the others ``sources: null``.

What each id answers is set in ``answers`` (default ``WARMED``); a few non-contract answers
let tests feed a client bad data. ``faults`` (for batches) and ``probe_faults`` (for empty
batches) replace the next answers, one per request. ``latency_s`` delays every answer (a
service doing the work). Every request is recorded with its arrival time. Used by the tests
and ``benchmarks/bench_identity_refresh.py``; it imports nothing of the client.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final

PATH: Final = "/api/v1/cache/refresh-for-identities"

# Answers of the contract
WARMED: Final = "warmed"  # release success, two artists success
WARMED_PARTIAL: Final = "warmed_partial"  # release success, 3 artists of which 1 failed
WARMED_RELEASE_ERROR: Final = "warmed_release_error"  # status warmed, release_outcome error
NOT_FOUND: Final = "not_found"
NOT_IMPLEMENTED: Final = "not_implemented"
ERROR: Final = "error"
# Answers outside the contract
UNKNOWN_STATUS: Final = "unknown_status"  # status "exploded"
OMITTED: Final = "omitted"  # the id is left out of the results
AS_STRING: Final = "as_string"  # identity_id answered as a JSON string


@dataclass
class Fault:
    """What the server does with one request instead of answering normally."""

    status: int = 200
    retry_after: str | None = None
    location: str | None = None  # a redirect target
    delay_s: float = 0.0  # sleep before the headers
    trickle_s: float = 0.0  # send the body one byte at a time, this long between bytes
    body: bytes | None = None  # raw body instead of the contract answer


@dataclass
class Request:
    t: float  # time.monotonic() at arrival
    method: str
    path: str
    raw: bytes
    auth: str | None
    user_agent: str | None

    @property
    def ids(self) -> Any:
        """The ``identity_ids`` as sent (whatever JSON they were), or None."""
        try:
            return json.loads(self.raw).get("identity_ids")
        except (ValueError, AttributeError):
            return None


@dataclass
class LmlStandIn:
    api_key: str
    cap: int = 50
    answers: dict[int, str] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    probe_faults: list[Fault] = field(default_factory=list)
    latency_s: float = 0.0
    endpoint_deployed: bool = True  # False: a service version without the endpoint (404)
    url: str = ""  # set once served
    requests: list[Request] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def batches(self) -> list[Any]:
        """The ``identity_ids`` of every non-empty batch received, in arrival order."""
        return [r.ids for r in self.requests if r.ids]

    def answer(self, identity_id: int) -> dict[str, Any] | None:
        kind = self.answers.get(identity_id, WARMED)
        if kind == OMITTED:
            return None
        if kind in (NOT_FOUND, NOT_IMPLEMENTED, ERROR, UNKNOWN_STATUS):
            status = "exploded" if kind == UNKNOWN_STATUS else kind
            return {"identity_id": identity_id, "status": status, "sources": None,
                    "message": f"{status} here"}
        artists = [{"external_id": str(n), "outcome": "success", "message": None}
                   for n in (1, 2)]
        if kind == WARMED_PARTIAL:
            artists = [*artists, {"external_id": "3", "outcome": "error",
                                  "message": "artist fetch failed"}]
        release = "error" if kind == WARMED_RELEASE_ERROR else "success"
        return {"identity_id": str(identity_id) if kind == AS_STRING else identity_id,
                "status": "warmed", "message": None,
                "sources": {"discogs_release": {"release_outcome": release,
                                                "artists": artists}}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        lml = self.server.lml
        arrived = time.monotonic()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = Request(arrived, self.command, self.path, raw,
                          self.headers.get("Authorization"), self.headers.get("User-Agent"))
        with lml.lock:
            lml.requests.append(request)
            queue = lml.probe_faults if request.ids == [] else lml.faults
            fault = queue.pop(0) if queue else None
            lml.in_flight += 1
            lml.max_in_flight = max(lml.max_in_flight, lml.in_flight)
        try:
            # The client may have given up (timeout): expected in the slow-response tests.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._respond(lml, request, fault)
        finally:
            with lml.lock:
                lml.in_flight -= 1

    def _respond(self, lml: LmlStandIn, request: Request, fault: Fault | None) -> None:
        time.sleep(lml.latency_s + (fault.delay_s if fault else 0.0))
        if request.path != PATH or not lml.endpoint_deployed:
            return self._send(404, {"detail": "Not Found"})
        if request.method != "POST":
            return self._send(405, {"detail": "Method Not Allowed"})
        if request.auth != f"Bearer {lml.api_key}":
            return self._send(401, {"detail": "invalid API key"})
        if fault is not None and (fault.status != 200 or fault.body is not None):
            return self._send(fault.status, fault.body or {"detail": "fault"},
                              retry_after=fault.retry_after, location=fault.location,
                              trickle_s=fault.trickle_s)
        ids = request.ids
        if not isinstance(ids, list) or not all(type(i) is int for i in ids):
            return self._send(422, {"detail": "identity_ids must be a list of integers"})
        if not ids:
            return self._send(422, {"detail": "identity_ids must not be empty"})
        if len(ids) > lml.cap:
            return self._send(400, {"detail": f"at most {lml.cap} identity_ids per request"})
        results = [a for a in map(lml.answer, ids) if a is not None]
        return self._send(200, {"results": results},
                          trickle_s=fault.trickle_s if fault else 0.0)

    def _send(self, status: int, body: dict[str, Any] | bytes, *, retry_after: str | None = None,
              location: str | None = None, trickle_s: float = 0.0) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        if location is not None:
            self.send_header("Location", location)
        self.end_headers()
        if not trickle_s:
            self.wfile.write(data)
            return
        for i in range(len(data)):
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            time.sleep(trickle_s)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    lml: LmlStandIn


class LmlServer:
    """``LmlStandIn`` served on 127.0.0.1 (ephemeral port by default) in a thread."""

    def __init__(self, lml: LmlStandIn, port: int = 0) -> None:
        self.lml = lml
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.lml = lml
        lml.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # a short poll interval: shutting down waits for one
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> LmlStandIn:
        self._thread.start()
        return self.lml

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
