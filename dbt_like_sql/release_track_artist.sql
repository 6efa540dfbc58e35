-- depends_on: release
-- Current state of `release_track_artist` (releases, child of release); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS release_track_artist (
    release_id       BIGINT NOT NULL,
    track_idx        INTEGER NOT NULL,
    position         INTEGER NOT NULL,
    extra            BOOLEAN NOT NULL,
    artist_id        BIGINT,
    name             TEXT,
    anv              TEXT,
    "join"           TEXT,
    role             TEXT,
    PRIMARY KEY (release_id, track_idx, extra, position)
);
CREATE INDEX IF NOT EXISTS release_track_artist_artist_id_idx ON release_track_artist (artist_id);
