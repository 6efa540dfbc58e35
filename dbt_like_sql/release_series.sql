-- depends_on: release
-- Current state of `release_series` (releases, child of release); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS release_series (
    release_id       BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    series_id        BIGINT,
    name             TEXT,
    catno            TEXT,
    PRIMARY KEY (release_id, position)
);
CREATE INDEX IF NOT EXISTS release_series_series_id_idx ON release_series (series_id);
