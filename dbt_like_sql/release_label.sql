-- depends_on: release
-- Current state of `release_label` (releases, child of release); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS release_label (
    release_id       BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    label_id         BIGINT,
    name             TEXT,
    catno            TEXT,
    PRIMARY KEY (release_id, position)
);
CREATE INDEX IF NOT EXISTS release_label_label_id_idx ON release_label (label_id);
CREATE INDEX IF NOT EXISTS release_label_catno_idx ON release_label (catno);
