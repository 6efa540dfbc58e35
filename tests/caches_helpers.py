"""Test helpers for the identity caches: the LML stand-in on 127.0.0.1 and a keeping logger."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from discogs_assets.lib.caches.lml_stand_in import LmlServer, LmlStandIn

API_KEY = "test-secret-key-0123456789"


@contextmanager
def lml_server(**kwargs: Any) -> Iterator[LmlStandIn]:
    """The contract's refresh endpoint served on an ephemeral port of 127.0.0.1."""
    with LmlServer(LmlStandIn(api_key=API_KEY, **kwargs)) as lml:
        yield lml


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
