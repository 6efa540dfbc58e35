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
-- Opt-in (DISCOGS_TRACK_TITLE_INDEX=true): exact track-title lookups. No reader of the
-- warehouse needs them, and this index is the dearest of a first load (a hash index writes a
-- WAL record per row as it is built). Turning the option off later leaves a built index alone.
{{ only_if(track_title_index) }} CREATE INDEX IF NOT EXISTS release_track_title_idx
    ON release_track {{ text_lookup_index(title) }};
