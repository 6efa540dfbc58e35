-- depends_on: release
-- Current state of `release_artist` (releases, child of release); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS release_artist (
    release_id       BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    extra            BOOLEAN NOT NULL,
    artist_id        BIGINT,
    name             TEXT,
    anv              TEXT,
    "join"           TEXT,
    role             TEXT,
    tracks           TEXT,
    PRIMARY KEY (release_id, extra, position)
);
CREATE INDEX IF NOT EXISTS release_artist_artist_id_idx ON release_artist (artist_id);
