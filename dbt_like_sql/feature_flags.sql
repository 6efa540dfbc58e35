-- Operator switches read at run time (e.g. feature_discog_ingestion, the ingestion gate).
CREATE TABLE IF NOT EXISTS feature_flags (
    name        TEXT PRIMARY KEY,
    enabled     BOOLEAN NOT NULL,
    updated_at  {{ timestamp }},
    note        TEXT
);
