"""Test helpers for the identity caches: a real LML refresh server on 127.0.0.1, and warehouse
setup for the local warm."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from discogs_assets.lib.caches.remote import REFRESH_PATH

API_KEY = "test-secret-key-0123456789"


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
class LmlServer:
    """Implements ``POST /api/v1/cache/refresh-for-identities`` as the contract describes.

    The answer for an id follows its prefix: ``nf-`` not_found, ``ni-`` not_implemented,
    ``err-`` error, ``odd-`` an unknown status, ``gone-`` left out of the answer, ``a<N>-``
    warmed with N artists of which one failed; anything else warmed with 2 artists.
    ``faults`` are consumed one per request, in order.
    """

    cap: int = 50
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, identity_id: str) -> dict[str, Any]:
        prefix = identity_id.split("-", 1)[0]
        if prefix in ("nf", "ni", "err"):
            status = {"nf": "not_found", "ni": "not_implemented", "err": "error"}[prefix]
            return {"identity_id": identity_id, "status": status, "sources": None,
                    "message": f"{status} here"}
        if prefix == "odd":
            return {"identity_id": identity_id, "status": "exploded", "sources": None}
        artists = [{"external_id": "1", "outcome": "success", "message": None},
                   {"external_id": "2", "outcome": "success", "message": None}]
        if prefix.startswith("a") and prefix[1:].isdigit():
            count = int(prefix[1:])
            artists = [{"external_id": str(n), "outcome": "success" if n else "error",
                        "message": None if n else "artist fetch failed"} for n in range(count)]
        return {"identity_id": identity_id, "status": "warmed", "message": None,
                "sources": {"discogs_release": {"release_outcome": "success",
                                                "artists": artists}}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        lml = self.server.lml
        received = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        with lml.lock:
            fault = lml.faults.pop(0) if lml.faults else Fault()
            lml.requests.append({"t": received, "path": self.path, "raw": raw,
                                 "auth": self.headers.get("Authorization"),
                                 "user_agent": self.headers.get("User-Agent")})
        # The client may have given up (timeout): expected in the slow-response tests.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._respond(lml, raw, fault)

    def _respond(self, lml: LmlServer, raw: bytes, fault: Fault) -> None:
        time.sleep(fault.delay_s)
        if self.path != REFRESH_PATH:
            return self._send(404, {"detail": "not found"})
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._send(401, {"detail": "invalid API key"})
        if fault.status != 200 or fault.body is not None:
            return self._send(fault.status, fault.body or {"detail": "fault"},
                              retry_after=fault.retry_after, location=fault.location,
                              trickle_s=fault.trickle_s)
        try:
            ids = json.loads(raw)["identity_ids"]
            assert isinstance(ids, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            return self._send(422, {"detail": "identity_ids must be a list"})
        if not ids:
            return self._send(422, {"detail": "identity_ids must not be empty"})
        if len(ids) > lml.cap:
            return self._send(400, {"detail": f"at most {lml.cap} identity_ids per request"})
        results = [lml.answer(i) for i in ids if not str(i).startswith("gone-")]
        return self._send(200, {"results": results}, trickle_s=fault.trickle_s)

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
    lml: LmlServer


@contextmanager
def lml_server(**kwargs: Any) -> Iterator[LmlServer]:
    """A real HTTP server on 127.0.0.1 (ephemeral port) running ``LmlServer``."""
    lml = LmlServer(**kwargs)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.lml = lml
    lml.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield lml
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def sent_batches(lml: LmlServer) -> list[list[str]]:
    return [json.loads(r["raw"])["identity_ids"] for r in lml.requests]


class ListLog:
    """A logger that keeps its messages (the code under test only calls info/warning)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, /) -> None:
        self.lines.append(msg)

    def warning(self, msg: str, /) -> None:
        self.lines.append(msg)

    def text(self) -> str:
        return "\n".join(self.lines)




def recorder() -> tuple[list[float], Callable[[float], None]]:
    """A ``sleep`` that really sleeps and records how long it was asked to."""
    asked: list[float] = []

    def sleep(seconds: float) -> None:
        asked.append(seconds)
        time.sleep(seconds)

    return asked, sleep

