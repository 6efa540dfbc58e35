-- Warm master documents (JSON) for identities with source discogs_master, rewritten only when
-- content_hash changes; runtime columns belong to applications.
CREATE TABLE IF NOT EXISTS cache_master (
    master_id {{ bigint }} PRIMARY KEY,
    document {{ json }} NOT NULL,
    content_hash TEXT NOT NULL,
    source_month TEXT NOT NULL,
    built_at {{ timestamp }} NOT NULL,
    -- runtime columns
    artwork_url TEXT,
    app_notes TEXT,
    last_accessed_at {{ timestamp }}
)
