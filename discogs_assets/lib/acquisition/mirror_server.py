"""A local stand-in of the dump host, serving a mirror directory over HTTP.

The directory is laid out like the host (``data/YYYY/discogs_YYYYMMDD_<kind>...``). In the
production protocol (default) ``GET /?prefix=data/YYYY/`` returns the HTML year listing in the
host's shape and ``GET /?download=data/YYYY/<name>`` the file, with Range support. With
``listing_format="s3"`` it speaks the S3 ``ListBucketResult`` protocol instead (files at
``/data/YYYY/<name>``). The directory is read on every request, so a test can publish a
CHECKSUM after the data files. Faults (status codes, dropped or stalled streams, corrupted bytes,
wrong Content-Length, ignored Range) are injected from a FaultPlan; every request is recorded.
"""

from __future__ import annotations

import html
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import NamedTuple
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape as xml_escape

from discogs_assets.lib.acquisition.names import InvalidDumpName, parse_key

FAULT_ACTIONS = ("status", "delay", "drop", "stall", "corrupt", "bad_length", "ignore_range")
_CHUNK = 1 << 20


@dataclass
class Fault:
    """One injected misbehaviour, applied to the next ``times`` matching requests.

    ``target`` is a file name, ``"listing"`` or ``"*"`` (any file download).
    - status: answer ``status`` with ``headers`` (e.g. 429 + Retry-After) and no file.
    - delay: answer only after ``delay_seconds`` (or as soon as ``release_when()`` is true),
      then normally: a big file that takes long, so the month's other steps run meanwhile.
    - drop: send ``after_bytes`` of the body, then close the connection.
    - stall: send ``after_bytes``, then go silent for ``stall_seconds`` and close.
    - corrupt: flip one byte (in the middle of the file) while sending it.
    - bad_length: announce ``Content-Length`` off by ``length_delta``, then close.
    - ignore_range: answer a Range request with 200 and the whole file.
    """

    action: str
    target: str = "*"
    times: int = 1
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    after_bytes: int = 0
    stall_seconds: float = 5.0
    delay_seconds: float = 10.0
    release_when: Callable[[], bool] | None = None
    length_delta: int = 0

    def __post_init__(self) -> None:
        if self.action not in FAULT_ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; one of {FAULT_ACTIONS}")


class FaultPlan:
    """Faults consumed in order; thread-safe."""

    def __init__(self, *faults: Fault) -> None:
        self._faults = list(faults)
        self._lock = threading.Lock()

    def take(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                hit = fault.target == target or (fault.target == "*" and target != "listing")
                if hit and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    @property
    def pending(self) -> int:
        """Fault applications not used yet (a test can assert every fault fired)."""
        with self._lock:
            return sum(f.times for f in self._faults)


class RecordedRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    status: int


def human_size(size: int) -> str:
    """The host's size column: ``388 B``, ``85.4 MB``, ``10.4 GB``."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def _stamp(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S")


def html_listing(root: Path, prefix: str) -> str:
    """The production host's year page for ``prefix`` (``data/YYYY/``)."""
    parent = prefix.rstrip("/").rpartition("/")[0] + "/"
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "<body>",
        "<pre>",
        f"{'Last Modified':<32}{'Size':<15}Name",
        "-" * 95,
        f'{"":<47}<a href="?prefix={quote(parent, safe="")}">../</a>',
    ]
    for path in _files(root, prefix):
        key = prefix + path.name
        link = f'<a href="?download={quote(key, safe="")}">{html.escape(path.name)}</a>'
        lines.append(f"{_stamp(path):<32}{human_size(path.stat().st_size):<15}{link}")
    return "\n".join([*lines, "</pre>", "</body>", "</html>", ""])


def s3_listing(root: Path, prefix: str, marker: str, max_keys: int) -> str:
    keys = [(prefix + p.name, p) for p in _files(root, prefix) if prefix + p.name > marker]
    page, truncated = keys[:max_keys], len(keys) > max_keys
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
        f"<Name>mirror</Name><Prefix>{xml_escape(prefix)}</Prefix>",
        f"<Marker>{xml_escape(marker)}</Marker><MaxKeys>{max_keys}</MaxKeys>",
        f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
    ]
    for key, path in page:
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        parts.append(
            f"<Contents><Key>{xml_escape(key)}</Key>"
            f"<LastModified>{modified.strftime('%Y-%m-%dT%H:%M:%S.000Z')}</LastModified>"
            f"<Size>{path.stat().st_size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
        )
    return "\n".join([*parts, "</ListBucketResult>", ""])


def _files(root: Path, prefix: str) -> list[Path]:
    if not re.fullmatch(r"data/[0-9]{4}/", prefix):
        return []
    folder = root / prefix
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet: requests are recorded
        pass

    def _record(self, status: int) -> None:
        self.server.owner._record(
            RecordedRequest(self.command, self.path, dict(self.headers), status)
        )

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self._record(status)
        self.send_response(status)
        for name, value in {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        owner = self.server.owner
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if owner.listing_format == "html":
            if "prefix" in query and url.path == "/":
                return self._listing(query["prefix"], query)
            if "download" in query and url.path == "/":
                return self._download(query["download"])
        else:
            if url.path == "/" and "download" not in query:
                return self._listing(query.get("prefix", ""), query)
            if url.path.startswith("/data/"):
                return self._download(unquote(url.path[1:]))
        return self._reply(404, b"not found\n")

    def _listing(self, prefix: str, query: dict[str, str]) -> None:
        owner = self.server.owner
        fault = owner.faults.take("listing")
        if fault is not None and fault.action == "status":
            return self._reply(fault.status, b"listing fault\n", fault.headers)
        if owner.listing_format == "html":
            body = html_listing(owner.root, prefix).encode()
            return self._reply(200, body, {"Content-Type": "text/html; charset=utf-8"})
        max_keys = min(int(query.get("max-keys", owner.s3_max_keys)), owner.s3_max_keys)
        body = s3_listing(owner.root, prefix, query.get("marker", ""), max_keys).encode()
        return self._reply(200, body, {"Content-Type": "application/xml"})

    def _download(self, key: str) -> None:
        owner = self.server.owner
        try:
            name = parse_key(key).name
        except InvalidDumpName:
            return self._reply(404, b"no such key\n")
        path = owner.root / key
        if not path.is_file():
            return self._reply(404, b"no such key\n")
        fault = owner.faults.take(name)
        if fault is not None and fault.action == "status":
            return self._reply(fault.status, b"injected fault\n", fault.headers)
        if fault is not None and fault.action == "delay":
            deadline = time.monotonic() + fault.delay_seconds
            while time.monotonic() < deadline and not (fault.release_when
                                                       and fault.release_when()):
                time.sleep(0.2)
            fault = None
        size = path.stat().st_size
        start, end, status = 0, size - 1, 200
        wanted = self.headers.get("Range")
        honour = owner.range_support and not (fault and fault.action == "ignore_range")
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted or "")
        if wanted and honour and m:
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            if start >= size or start > end:
                return self._reply(416, b"", {"Content-Range": f"bytes */{size}"})
            status = 206
        length = end - start + 1
        announced = length + (fault.length_delta if fault and fault.action == "bad_length" else 0)
        self._record(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(announced))
        self.send_header("Last-Modified", formatdate(path.stat().st_mtime, usegmt=True))
        if owner.range_support:
            self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        if fault is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        self._send_body(path, start, length, size, fault)

    def _send_body(
        self, path: Path, start: int, length: int, size: int, fault: Fault | None
    ) -> None:
        limit = length
        if fault is not None and fault.action in ("drop", "stall"):
            limit = min(length, fault.after_bytes)
        flip = size // 2 if fault is not None and fault.action == "corrupt" else -1
        try:
            for offset, chunk in _read(path, start, limit):
                if offset <= flip < offset + len(chunk):
                    data = bytearray(chunk)
                    data[flip - offset] ^= 0xFF
                    chunk = bytes(data)
                self.wfile.write(chunk)
            self.wfile.flush()
            if fault is not None and fault.action == "stall":
                self.server.owner._stopping.wait(fault.stall_seconds)
            if fault is not None and fault.action in ("drop", "stall", "bad_length"):
                self.connection.shutdown(socket.SHUT_RDWR)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _read(path: Path, start: int, length: int) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as fh:
        fh.seek(start)
        offset, left = start, length
        while left > 0:
            chunk = fh.read(min(_CHUNK, left))
            if not chunk:
                return
            yield offset, chunk
            offset += len(chunk)
            left -= len(chunk)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: MirrorServer


class MirrorServer:
    """A threaded HTTP server for a mirror directory; use as a context manager.

    ``MirrorServer(root, port=0)`` picks a free port; ``.url`` is the base URL to put in
    ``DISCOGS_DUMPS_URL``; ``.requests`` lists what clients asked for.
    """

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        *,
        listing_format: str = "html",
        range_support: bool = True,
        s3_max_keys: int = 1000,
    ) -> None:
        if listing_format not in ("html", "s3"):
            raise ValueError("listing_format must be 'html' or 's3'")
        self.root = Path(root)
        self.faults = faults or FaultPlan()
        self.listing_format = listing_format
        self.range_support = range_support
        self.s3_max_keys = s3_max_keys
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.owner = self
        # a short poll interval makes stop() quick (tests start many servers)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def serve_forever(self) -> None:
        """Block until interrupted (for the command line)."""
        try:
            self._thread.join()
        finally:
            self.stop()

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MirrorServer:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
