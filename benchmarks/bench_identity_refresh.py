"""Load test of the LML refresh: what request rate does the service see? (not run in CI)

    uv run python benchmarks/bench_identity_refresh.py [--batches-per-minute 120]
        [--runs 2] [--identities 3000] [--latency 0.5] [--baseline-per-minute 30]

Serves the contract's stand-in (``discogs_assets/lib/caches/lml_stand_in.py``) on 127.0.0.1
with ``--latency`` seconds of work per request, and a runtime caller in a thread that refreshes
single identities at ``--baseline-per-minute`` (the service's ordinary traffic, which the
pipeline's budget comes on top of). Then ``--runs`` pipeline refreshes start at once, each in
its own process (as overlapping Dagster runs would), each with ``--identities`` identities,
all drawing from one request-budget file. Prints, from the server's own arrival log, the most
pipeline requests seen in any 60-second window against the budget, the mean rates, the peak
of concurrent requests, and the identities refreshed per minute.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path

import httpx

from discogs_assets.lib.caches import RemoteRefreshConfig, request_budget
from discogs_assets.lib.caches.lml_stand_in import PATH, LmlServer, LmlStandIn
from discogs_assets.lib.caches.remote import USER_AGENT, refresh_ids

API_KEY = "bench-key"
RUNTIME_AGENT = "runtime-caller"


class _Quiet:
    def info(self, msg: str, /) -> None:
        pass

    def warning(self, msg: str, /) -> None:
        print(f"  warning: {msg}", flush=True)


def _pipeline_run(url: str, first_id: int, count: int, per_minute: float, budget: str,
                  start: multiprocessing.synchronize.Barrier) -> None:
    cfg = RemoteRefreshConfig(base_url=url, api_key=API_KEY, batches_per_minute=per_minute)
    start.wait()
    with request_budget(per_minute, Path(budget)) as shared:
        counters = refresh_ids(cfg, range(first_id, first_id + count), _Quiet(), budget=shared)
    print(f"  run from id {first_id}: {counters.as_metadata()}", flush=True)


def _runtime_caller(url: str, per_minute: float, stop: threading.Event) -> None:
    """One identity at a time, at a fixed rate: an application refreshing what a user opened."""
    headers = {"Authorization": f"Bearer {API_KEY}", "User-Agent": RUNTIME_AGENT}
    began = time.monotonic()
    with httpx.Client(headers=headers, timeout=30) as client:
        n = 0
        while not stop.wait(max(0.0, began + n * 60 / per_minute - time.monotonic())):
            client.post(url + PATH, json={"identity_ids": [10_000_000 + n]})
            n += 1


def busiest_window(times: list[float], window: float) -> int:
    most, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        most = max(most, hi - lo + 1)
    return most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches-per-minute", type=float, default=120)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--identities", type=int, default=3000, help="per run")
    parser.add_argument("--latency", type=float, default=0.5, help="service seconds/request")
    parser.add_argument("--baseline-per-minute", type=float, default=30)
    args = parser.parse_args()

    stand_in = LmlStandIn(api_key=API_KEY, latency_s=args.latency)
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(args.runs)
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as tmp, LmlServer(stand_in) as lml:
        runtime = threading.Thread(target=_runtime_caller,
                                   args=(lml.url, args.baseline_per_minute, stop))
        runtime.start()
        runs = [spawn.Process(target=_pipeline_run, args=(
            lml.url, 1 + n * args.identities, args.identities, args.batches_per_minute,
            str(Path(tmp) / "budget.sqlite"), start)) for n in range(args.runs)]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
        began = min(r.t for r in lml.requests if r.user_agent == USER_AGENT)
        ended = max(r.t for r in lml.requests if r.user_agent == USER_AGENT)
        stop.set()
        runtime.join()
    if any(run.exitcode for run in runs):
        raise SystemExit("a pipeline run failed")

    pipeline = sorted(r.t for r in lml.requests if r.user_agent == USER_AGENT)
    baseline = sorted(r.t for r in lml.requests
                      if r.user_agent == RUNTIME_AGENT and began <= r.t <= ended)
    both = sorted([*pipeline, *baseline])
    minutes = (ended - began) / 60
    identities = args.runs * args.identities
    print(f"budget: {args.batches_per_minute:g} requests/minute shared by {args.runs} runs "
          f"(3 workers each, {args.latency:g} s service latency)")
    print(f"pipeline requests: {len(pipeline)} in {ended - began:.1f} s "
          f"(mean {len(pipeline) / minutes:.1f}/min); most in any 60 s window: "
          f"{busiest_window(pipeline, 60.0)} (budget {args.batches_per_minute:g})")
    print(f"runtime caller: {len(baseline)} requests in the same time "
          f"(mean {len(baseline) / minutes:.1f}/min, configured {args.baseline_per_minute:g})")
    print(f"service total: most in any 60 s window {busiest_window(both, 60.0)}; "
          f"peak concurrent requests {lml.max_in_flight}")
    print(f"identities refreshed: {identities} at {identities / minutes:.0f}/min")


if __name__ == "__main__":
    main()
