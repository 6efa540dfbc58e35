"""Request a month as soon as its CHECKSUM (the "dump complete" marker) is published.

One listing request per tick; the CHECKSUM itself is fetched only when the listing shows one
not seen before (its sha256 goes into the run key, so a re-published dump reruns and a seen one
never does). A wait the host asked for (Retry-After, or an hour after a failed listing) is
recorded for every process: no request from here, the schedule or a step until it passes.
"""

import hashlib
from datetime import UTC, datetime, timedelta

import dagster as dg

from discogs_assets.lib.acquisition import DumpIncomplete, DumpNotPublished
from discogs_assets.lib.errors import NonRetryableError, RetryableError
from discogs_assets.lib.gate import GATED_MESSAGE
from discogs_assets.lib.job_names import MONTHLY_JOB_NAME
from discogs_assets.lib.layout import month_of
from discogs_assets.lib.lifecycle import MonthLifecycle
from discogs_assets.lib.orchestration.new_dump import (
    ChecksumSeen,
    NewDumpCursor,
    new_dump_run_key,
)
from discogs_assets.lib.settings import Settings
from resources.dump_source import DumpSourceResource
from resources.gate import IngestionGateResource
from resources.warehouse import WarehouseResource

LISTING_ERROR_BACKOFF_S = 3600.0  # a failed listing without Retry-After: wait an hour
SENSOR_NAME = "discogs_new_dump"


def _skip(reason: str, cursor: NewDumpCursor) -> dg.SensorResult:
    return dg.SensorResult(skip_reason=reason, cursor=cursor.dump())


@dg.sensor(
    name=SENSOR_NAME,
    job_name=MONTHLY_JOB_NAME,
    minimum_interval_seconds=Settings.from_env().new_dump_interval_s,
    description="Polls the dump source (one listing request per tick) and requests the current "
    "month once its CHECKSUM is published; run key = month + CHECKSUM sha256.",
)
def new_dump_sensor(
    context: dg.SensorEvaluationContext,
    gate: IngestionGateResource,
    dump_source: DumpSourceResource,
    warehouse: WarehouseResource,
) -> dg.SensorResult:
    cursor = NewDumpCursor.load(context.cursor)
    enabled, source_of_decision = gate.state()
    if not enabled:
        return _skip(f"{GATED_MESSAGE} (decided by {source_of_decision})", cursor)
    now = datetime.now(UTC)
    lifecycle = MonthLifecycle(warehouse.migrate())  # this sensor writes (see below)
    host = dump_source.host()
    wait = lifecycle.host_backoff_until(host, now)
    if wait is not None:
        return _skip(f"the dump host asked us to wait: no request before {wait[0].isoformat()} "
                     f"({wait[1]})", cursor)
    month = month_of(now.date())
    with dump_source.get_source(log=context.log) as source:
        try:
            dump = source.find_month(month)
            checksum = dump.checksum_file
            assert checksum is not None  # find_month without accept_unverified guarantees one
            seen = cursor.seen.get(month)
            if seen is not None and seen.same_listing(checksum.name, checksum.size,
                                                      checksum.last_modified):
                return _skip(f"{month}: dump {dump.date} already requested (CHECKSUM "
                             f"{checksum.name} unchanged since {seen.first_seen_at})", cursor)
            body = source.fetch_bytes(checksum)
        except (DumpNotPublished, DumpIncomplete) as exc:
            return _skip(f"{month}: {exc}", cursor)
        except RetryableError as exc:
            seconds = exc.retry_after or LISTING_ERROR_BACKOFF_S
            not_before = now + timedelta(seconds=seconds)
            lifecycle.record_host_backoff(host, not_before, f"{SENSOR_NAME}: {exc}")
            context.log.warning(f"dump listing for {month} failed, backing off {seconds:.0f} s: "
                                f"{exc}")
            return _skip(f"{month}: listing failed ({exc}); next request after "
                         f"{not_before.isoformat()}", cursor)
        except NonRetryableError as exc:
            context.log.error(f"dump listing for {month} failed: {exc}")
            return _skip(f"{month}: listing failed ({exc}); will ask again next tick", cursor)
    sha = hashlib.sha256(body).hexdigest()
    modified = checksum.last_modified.isoformat() if checksum.last_modified else None
    republished = seen is not None and seen.sha256 != sha
    cursor.seen[month] = ChecksumSeen(
        name=checksum.name, size=checksum.size, last_modified=modified, sha256=sha,
        first_seen_at=seen.first_seen_at if seen and not republished else now.isoformat(),
    )
    if seen is not None and not republished:
        return _skip(f"{month}: CHECKSUM {checksum.name} listed differently but its content "
                     "is unchanged; not rerunning", cursor)
    # Recorded for the freshness check: when the CHECKSUM appeared (listing time when known).
    lifecycle.record_checksum_seen(month, sha256=sha, listed_at=checksum.last_modified,
                                   seen_at=now)
    context.log.info(f"{month}: {'re-published' if republished else 'new'} dump {dump.date} "
                     f"(CHECKSUM sha256 {sha}); requesting the month")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(
            run_key=new_dump_run_key(month, sha),
            partition_key=month,
            # The sensor saw a new CHECKSUM: the run must not reuse a manifest from an older one.
            run_config={"ops": {"discogs_checksum": {"config": {"refresh_listing": True}}}},
            tags={"discogs/trigger": "new_dump", "discogs/dump_date": dump.date,
                  "discogs/checksum_sha256": sha},
        )],
        cursor=cursor.dump(),
    )
