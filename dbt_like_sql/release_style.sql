-- depends_on: release
-- Current state of `release_style` (releases, child of release); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS release_style (
    release_id       BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    style            TEXT,
    PRIMARY KEY (release_id, position)
);
