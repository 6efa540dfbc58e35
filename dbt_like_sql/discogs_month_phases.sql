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
