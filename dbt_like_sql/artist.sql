-- Current state of `artist` (artists, root table); columns as in lib/tables.py.
-- content_hash (stable) covers this row and all its child rows; fast_hash is a cheap
-- fingerprint that only lets a load skip unchanged records (child_hashes: one per child table,
-- so only changed child tables are rewritten); removed_in_month marks a
-- tombstone (absent from that month's dump) and last_seen_month then holds the month it was
-- last seen in (NULL while present: a present record was seen in its entity's current month,
-- the newest applied one in month_changes); runtime columns are written by apps only.
CREATE TABLE IF NOT EXISTS artist (
    id               BIGINT NOT NULL,
    name             TEXT,
    realname         TEXT,
    profile          TEXT,
    data_quality     TEXT,
    content_hash     TEXT NOT NULL,
    fast_hash        BIGINT,
    child_hashes     TEXT,
    first_seen_month TEXT NOT NULL,
    last_seen_month  TEXT,
    removed_in_month TEXT,
    image_url        TEXT,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS artist_name_idx ON artist (name);
