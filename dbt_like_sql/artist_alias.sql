-- depends_on: artist
-- Current state of `artist_alias` (artists, child of artist); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS artist_alias (
    artist_id        BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    alias_id         BIGINT,
    name             TEXT,
    PRIMARY KEY (artist_id, position)
);
CREATE INDEX IF NOT EXISTS artist_alias_alias_id_idx ON artist_alias (alias_id);
