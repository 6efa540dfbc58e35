-- Which content-hash scheme each entity's stored hashes were made with (one row per entity,
-- written by its first load). A load refuses rows hashed by another scheme: compared with the
-- new hashes, every record would look changed.
CREATE TABLE IF NOT EXISTS hash_schemes (
    entity      TEXT PRIMARY KEY,
    scheme      TEXT NOT NULL,
    recorded_at {{ timestamp }}
);
