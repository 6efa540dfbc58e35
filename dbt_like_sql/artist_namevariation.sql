-- depends_on: artist
-- Current state of `artist_namevariation` (artists, child of artist); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS artist_namevariation (
    artist_id        BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    name             TEXT,
    PRIMARY KEY (artist_id, position)
);
