-- depends_on: release
-- Current state of `release_format` (releases, child of release); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS release_format (
    release_id       BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    name             TEXT,
    qty              TEXT,
    text             TEXT,
    descriptions     {{ json }},
    PRIMARY KEY (release_id, position)
);
