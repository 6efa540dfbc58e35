-- depends_on: label, artist, master, release
-- Rows per entity in the current state: present, tombstoned, and the newest month seen.
DROP VIEW IF EXISTS v_entity_counts;
CREATE VIEW v_entity_counts AS
SELECT 'labels' AS entity, 'label' AS root_table,
       COALESCE(SUM(CASE WHEN removed_in_month IS NULL THEN 1 ELSE 0 END), 0) AS present,
       COALESCE(SUM(CASE WHEN removed_in_month IS NULL THEN 0 ELSE 1 END), 0) AS removed,
       MAX(last_seen_month) AS last_seen_month
FROM label
UNION ALL
SELECT 'artists', 'artist',
       COALESCE(SUM(CASE WHEN removed_in_month IS NULL THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN removed_in_month IS NULL THEN 0 ELSE 1 END), 0),
       MAX(last_seen_month)
FROM artist
UNION ALL
SELECT 'masters', 'master',
       COALESCE(SUM(CASE WHEN removed_in_month IS NULL THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN removed_in_month IS NULL THEN 0 ELSE 1 END), 0),
       MAX(last_seen_month)
FROM master
UNION ALL
SELECT 'releases', 'release',
       COALESCE(SUM(CASE WHEN removed_in_month IS NULL THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN removed_in_month IS NULL THEN 0 ELSE 1 END), 0),
       MAX(last_seen_month)
FROM release;
