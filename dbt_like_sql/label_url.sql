-- depends_on: label
-- Current state of `label_url` (labels, child of label); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS label_url (
    label_id         BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    url              TEXT,
    PRIMARY KEY (label_id, position)
);
