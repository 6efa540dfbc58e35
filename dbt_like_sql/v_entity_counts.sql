-- depends_on: label, artist, master, release, month_changes
-- Rows per entity in the current state: present, tombstoned, and the newest month a record
-- was seen in: the entity's current month (the newest applied) while it has present records,
-- else the last month its tombstones were seen in (present rows store no month).
DROP VIEW IF EXISTS v_entity_counts;
CREATE VIEW v_entity_counts AS
WITH entities (entity, root_table) AS (
    VALUES ('labels', 'label'), ('artists', 'artist'), ('masters', 'master'),
           ('releases', 'release')
), root_rows AS (
    SELECT 'labels' AS entity, removed_in_month, last_seen_month FROM label
    UNION ALL SELECT 'artists', removed_in_month, last_seen_month FROM artist
    UNION ALL SELECT 'masters', removed_in_month, last_seen_month FROM master
    UNION ALL SELECT 'releases', removed_in_month, last_seen_month FROM release
), counts AS (
    SELECT entity,
           SUM(CASE WHEN removed_in_month IS NULL THEN 1 ELSE 0 END) AS present,
           SUM(CASE WHEN removed_in_month IS NULL THEN 0 ELSE 1 END) AS removed,
           MAX(last_seen_month) AS removed_last_seen
    FROM root_rows
    GROUP BY entity
), applied AS (
    SELECT entity, MAX(month) AS month FROM month_changes WHERE NOT historical GROUP BY entity
)
SELECT e.entity, e.root_table,
       COALESCE(c.present, 0) AS present,
       COALESCE(c.removed, 0) AS removed,
       CASE WHEN c.present > 0 THEN a.month ELSE c.removed_last_seen END AS last_seen_month
FROM entities e
LEFT JOIN counts c ON c.entity = e.entity
LEFT JOIN applied a ON a.entity = e.entity
