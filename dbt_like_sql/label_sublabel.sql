-- depends_on: label
-- Current state of `label_sublabel` (labels, child of label); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS label_sublabel (
    label_id         BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    sublabel_id      BIGINT,
    name             TEXT,
    PRIMARY KEY (label_id, position)
);
CREATE INDEX IF NOT EXISTS label_sublabel_sublabel_id_idx ON label_sublabel (sublabel_id);
