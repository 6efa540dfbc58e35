-- depends_on: release
-- Current state of `release_company` (releases, child of release); columns as in lib/tables.py.
CREATE TABLE IF NOT EXISTS release_company (
    release_id       BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    company_id       BIGINT,
    name             TEXT,
    catno            TEXT,
    entity_type      INTEGER,
    entity_type_name TEXT,
    resource_url     TEXT,
    PRIMARY KEY (release_id, position)
);
CREATE INDEX IF NOT EXISTS release_company_company_id_idx ON release_company (company_id);
CREATE INDEX IF NOT EXISTS release_company_catno_idx ON release_company (catno);
