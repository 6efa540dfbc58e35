-- depends_on: master
-- Current state of `master_style` (masters, child of master); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS master_style (
    master_id        BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    style            TEXT,
    PRIMARY KEY (master_id, position)
);
