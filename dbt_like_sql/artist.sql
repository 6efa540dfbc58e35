-- Current state of `artist` (artists, root table); columns as in lib/tables.py.
-- content_hash covers this row and all its child rows; removed_in_month marks a
-- tombstone (absent from that month's dump); runtime columns are written by apps only.
CREATE TABLE IF NOT EXISTS artist (
    id               BIGINT NOT NULL,
    name             TEXT,
    realname         TEXT,
    profile          TEXT,
    data_quality     TEXT,
    content_hash     TEXT NOT NULL,
    first_seen_month TEXT NOT NULL,
    last_seen_month  TEXT NOT NULL,
    removed_in_month TEXT,
    image_url        TEXT,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS artist_name_idx ON artist (name);
