-- depends_on: master
-- Current state of `master_artist` (masters, child of master); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS master_artist (
    master_id        BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    artist_id        BIGINT,
    name             TEXT,
    anv              TEXT,
    "join"           TEXT,
    role             TEXT,
    PRIMARY KEY (master_id, position)
);
CREATE INDEX IF NOT EXISTS master_artist_artist_id_idx ON master_artist (artist_id);
