"""The one-load-at-a-time rule holds across processes (and so across machines: Celery workers
on different hosts share only the PostgreSQL server): two loader processes never hold the
warehouse load lock at once, the second says who it waits for, and one that cannot wait gives
up with WarehouseBusy."""

from __future__ import annotations

import subprocess
import sys
import time

LOADER = """
import sys, time
from discogs_assets.lib.warehouse import make_engine
from discogs_assets.lib.warehouse.lock import WarehouseBusy, load_transaction

url, name, wait_s, hold_s = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
engine = make_engine(url)
print("ready", flush=True)
sys.stdin.readline()  # both start together
try:
    with load_transaction(engine, wait_s=wait_s, log=lambda m: print("log", m, flush=True),
                          what=name):
        print("holding", time.time(), flush=True)
        time.sleep(hold_s)
        print("released", time.time(), flush=True)
except WarehouseBusy as exc:
    print("busy", exc, flush=True)
"""


def _loader(url: str, name: str, wait_s: float, hold_s: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", LOADER, url, name, str(wait_s), str(hold_s)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def _interval(output: str) -> tuple[float, float]:
    stamps = {line.split()[0]: float(line.split()[1]) for line in output.splitlines()
              if line.startswith(("holding", "released"))}
    return stamps["holding"], stamps["released"]


def test_two_loader_processes_never_overlap(pg_url: str) -> None:
    first, second = (_loader(pg_url, name, 30, 1.5) for name in ("load A", "load B"))
    for proc in (first, second):
        proc.stdin.write("go\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
    outputs = [proc.communicate(timeout=60)[0] for proc in (first, second)]
    (a0, a1), (b0, b1) = (_interval(o) for o in outputs)
    assert a1 <= b0 or b1 <= a0, f"overlapping loads: A {a0}-{a1}, B {b0}-{b1}"
    waited = [o for o in outputs if "waiting up to 30s: another load holds" in o]
    assert len(waited) == 1 and "advisory lock" in waited[0] and "backend pid" in waited[0]


def test_a_loader_that_cannot_wait_gives_up(pg_url: str) -> None:
    impatient = _loader(pg_url, "impatient load", 0.5, 0.0)  # imports done before the hold
    holder = _loader(pg_url, "long load", 30, 3.0)
    holder.stdin.write("go\n")  # type: ignore[union-attr]
    holder.stdin.flush()  # type: ignore[union-attr]
    assert holder.stdout.readline().startswith("holding")  # type: ignore[union-attr]
    started = time.monotonic()
    output = impatient.communicate("go\n", timeout=60)[0]
    assert "busy impatient load: gave up after 0.5s" in output
    assert time.monotonic() - started < 2.5  # it did not wait for the holder to finish
    assert "released" in holder.communicate(timeout=60)[0]
