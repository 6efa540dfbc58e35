-- depends_on: release
-- Current state of `release_video` (releases, child of release); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS release_video (
    release_id       BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    src              TEXT,
    duration         INTEGER,
    embed            BOOLEAN,
    title            TEXT,
    description      TEXT,
    PRIMARY KEY (release_id, position)
);
