-- Warm release documents (JSON), one per Discogs release id, rewritten by the identity-cache
-- warm only when content_hash changes. Runtime columns below the marker belong to applications:
-- the warm never writes them, so they survive rewrites.
CREATE TABLE IF NOT EXISTS cache_release (
    release_id {{ bigint }} PRIMARY KEY,
    document {{ json }} NOT NULL,
    content_hash TEXT NOT NULL,
    source_month TEXT NOT NULL,
    built_at {{ timestamp }} NOT NULL,
    -- runtime columns
    artwork_url TEXT,
    app_notes TEXT,
    last_accessed_at {{ timestamp }}
)
