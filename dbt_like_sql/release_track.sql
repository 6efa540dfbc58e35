-- depends_on: release
-- Current state of `release_track` (releases, child of release); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS release_track (
    release_id       BIGINT NOT NULL,
    track_idx        INTEGER NOT NULL,
    parent_idx       INTEGER,
    position         TEXT,
    title            TEXT,
    duration         TEXT,
    PRIMARY KEY (release_id, track_idx)
);
CREATE INDEX IF NOT EXISTS release_track_title_idx ON release_track {{ text_lookup_index(title) }};
