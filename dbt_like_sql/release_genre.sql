-- depends_on: release
-- Current state of `release_genre` (releases, child of release); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS release_genre (
    release_id       BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    genre            TEXT,
    PRIMARY KEY (release_id, position)
);
