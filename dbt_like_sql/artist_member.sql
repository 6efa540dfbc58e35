-- depends_on: artist
-- Current state of `artist_member` (artists, child of artist); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS artist_member (
    artist_id        BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    member_id        BIGINT,
    name             TEXT,
    PRIMARY KEY (artist_id, position)
);
CREATE INDEX IF NOT EXISTS artist_member_member_id_idx ON artist_member (member_id);
