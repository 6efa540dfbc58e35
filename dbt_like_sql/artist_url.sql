-- depends_on: artist
-- Current state of `artist_url` (artists, child of artist); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS artist_url (
    artist_id        BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    url              TEXT,
    PRIMARY KEY (artist_id, position)
);
