-- depends_on: label, artist, master, release, month_changes
-- Rows per entity in the current state: present, tombstoned, and the newest month a record
-- was seen in: the entity's current month (the newest applied) while it has present records,
-- else the last month its tombstones were seen in (present rows store no month).
DROP VIEW IF EXISTS v_entity_counts;
CREATE VIEW v_entity_counts AS
WITH counts AS (
    SELECT 'labels' AS entity, 'label' AS root_table,
           COALESCE(SUM(CASE WHEN removed_in_month IS NULL THEN 1 ELSE 0 END), 0) AS present,
           COALESCE(SUM(CASE WHEN removed_in_month IS NULL THEN 0 ELSE 1 END), 0) AS removed,
           MAX(last_seen_month) AS removed_last_seen
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
    FROM release
), applied AS (
    SELECT entity, MAX(month) AS month FROM month_changes WHERE NOT historical GROUP BY entity
)
SELECT c.entity, c.root_table, c.present, c.removed,
       CASE WHEN c.present > 0 THEN a.month ELSE c.removed_last_seen END AS last_seen_month
FROM counts c
LEFT JOIN applied a ON a.entity = c.entity
