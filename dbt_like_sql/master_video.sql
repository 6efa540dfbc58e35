-- depends_on: master
-- Current state of `master_video` (masters, child of master); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS master_video (
    master_id        BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    src              TEXT,
    duration         INTEGER,
    embed            BOOLEAN,
    title            TEXT,
    description      TEXT,
    PRIMARY KEY (master_id, position)
);
