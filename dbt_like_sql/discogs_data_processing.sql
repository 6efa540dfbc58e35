-- One row per month partition: where the month is in the pipeline, for admins without Dagster.
-- Status transitions are enforced in code (lib/warehouse/processing.py); the CHECK keeps
-- hand-written SQL honest too.
CREATE TABLE IF NOT EXISTS discogs_data_processing (
    month                  TEXT PRIMARY KEY,
    status                 TEXT NOT NULL DEFAULT 'not_started' CHECK (status IN (
                               'not_started', 'downloading', 'ready_for_processing',
                               'processing', 'completed', 'failed')),
    dump_date              TEXT,
    checksum_sha256        TEXT,
    checksums              {{ json }},
    parser_version         TEXT,
    unverified             BOOLEAN NOT NULL DEFAULT {{ false }},
    retry_count            INTEGER NOT NULL DEFAULT 0,
    next_retry_at          {{ timestamp }},
    failure_retryable      BOOLEAN,
    gate_disabled          BOOLEAN NOT NULL DEFAULT {{ false }},
    gate_note              TEXT,
    last_error             TEXT,
    last_run_id            TEXT,
    stats                  {{ json }},
    created_at             {{ timestamp }} NOT NULL,
    updated_at             {{ timestamp }} NOT NULL,
    download_started_at    {{ timestamp }},
    ready_at               {{ timestamp }},
    processing_started_at  {{ timestamp }},
    completed_at           {{ timestamp }},
    failed_at              {{ timestamp }}
);
CREATE INDEX IF NOT EXISTS discogs_data_processing_status_idx ON discogs_data_processing (status);
