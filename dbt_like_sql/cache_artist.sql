-- Warm artist documents (JSON) for every credited artist of a warmed release or master,
-- rewritten only when content_hash changes; runtime columns belong to applications.
CREATE TABLE IF NOT EXISTS cache_artist (
    artist_id {{ bigint }} PRIMARY KEY,
    document {{ json }} NOT NULL,
    content_hash TEXT NOT NULL,
    source_month TEXT NOT NULL,
    built_at {{ timestamp }} NOT NULL,
    -- runtime columns
    image_url TEXT,
    app_notes TEXT,
    last_accessed_at {{ timestamp }}
)
