-- depends_on: discogs_data_processing
-- One row per month and step owner ('checksum' or an entity): how far it got in the month's
-- current attempt. Steps of one month overlap (labels load while releases still download), so
-- the month's status in discogs_data_processing is derived from these rows (lib/lifecycle);
-- both are written in the same transaction.
CREATE TABLE IF NOT EXISTS discogs_month_phases (
    month                TEXT NOT NULL,
    entity               TEXT NOT NULL CHECK (entity IN (
                             'checksum', 'labels', 'artists', 'masters', 'releases')),
    phase                TEXT NOT NULL CHECK (phase IN (
                             'downloading', 'downloaded', 'parsing', 'parsed', 'loading',
                             'loaded')),
    run_id               TEXT,
    parser_version       TEXT,
    download_started_at  {{ timestamp }},
    downloaded_at        {{ timestamp }},
    parse_started_at     {{ timestamp }},
    parsed_at            {{ timestamp }},
    load_started_at      {{ timestamp }},
    loaded_at            {{ timestamp }},
    updated_at           {{ timestamp }} NOT NULL,
    PRIMARY KEY (month, entity)
);
-- Columns added after the table's first release, as statements of their own so existing
-- warehouses get them the same way as new ones (the runner emulates IF NOT EXISTS on SQLite).
-- records_parsed / records_loaded: what the entity's parse and load produced in this attempt;
-- note: why a loaded entity has no records (an operator's allow_shrink override).
ALTER TABLE discogs_month_phases ADD COLUMN IF NOT EXISTS records_parsed {{ bigint }};
ALTER TABLE discogs_month_phases ADD COLUMN IF NOT EXISTS note TEXT;
-- A month is completed when its four entities are loaded, so this CHECK is the guarantee that
-- no month completes with zero records in an entity unless a note says why. Added with the
-- column because SQLite cannot add a constraint to an existing table; both databases test it
-- against the existing rows then (rows loaded before the column existed have NULL: unknown).
ALTER TABLE discogs_month_phases ADD COLUMN IF NOT EXISTS records_loaded {{ bigint }}
    CONSTRAINT month_phase_loaded_has_records
    CHECK (phase <> 'loaded' OR records_loaded > 0 OR note IS NOT NULL);
