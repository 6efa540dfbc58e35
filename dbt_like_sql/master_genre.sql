-- depends_on: master
-- Current state of `master_genre` (masters, child of master); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS master_genre (
    master_id        BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    genre            TEXT,
    PRIMARY KEY (master_id, position)
);
