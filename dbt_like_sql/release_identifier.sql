-- depends_on: release
-- Current state of `release_identifier` (releases, child of release); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS release_identifier (
    release_id       BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    type             TEXT,
    value            TEXT,
    description      TEXT,
    PRIMARY KEY (release_id, position)
);
