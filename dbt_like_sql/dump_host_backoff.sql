-- A wait the dump host asked for (a 429/503 Retry-After), shared by every process: the retry
-- sensor, the schedule and the new-dump sensor make no request to that host before not_before.
CREATE TABLE IF NOT EXISTS dump_host_backoff (
    host         TEXT PRIMARY KEY,
    not_before   {{ timestamp }} NOT NULL,
    reason       TEXT,
    recorded_at  {{ timestamp }} NOT NULL
);
