-- depends_on: artist
-- Current state of `artist_group` (artists, child of artist); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS artist_group (
    artist_id        BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    group_id         BIGINT,
    name             TEXT,
    PRIMARY KEY (artist_id, position)
);
CREATE INDEX IF NOT EXISTS artist_group_group_id_idx ON artist_group (group_id);
