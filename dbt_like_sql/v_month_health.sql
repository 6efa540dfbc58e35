-- depends_on: discogs_data_processing, month_changes
-- One row per month: status, records per entity, change counts, durations and the last error.
-- Months that only have warehouse loads (no processing row yet) are listed too.
DROP VIEW IF EXISTS v_month_health;
CREATE VIEW v_month_health AS
WITH months AS (
    SELECT month FROM discogs_data_processing
    UNION
    SELECT month FROM month_changes
), loads AS (
    SELECT month,
           SUM(CASE WHEN entity = 'labels' THEN staged_rows END) AS labels_records,
           SUM(CASE WHEN entity = 'artists' THEN staged_rows END) AS artists_records,
           SUM(CASE WHEN entity = 'masters' THEN staged_rows END) AS masters_records,
           SUM(CASE WHEN entity = 'releases' THEN staged_rows END) AS releases_records,
           SUM(added) AS added,
           SUM(changed) AS changed,
           SUM(removed) AS removed,
           SUM(revived) AS revived,
           SUM(unchanged) AS unchanged,
           MAX(CASE WHEN historical THEN 1 ELSE 0 END) AS historical,
           SUM(seconds) AS load_seconds,
           COUNT(*) AS entities_loaded
    FROM month_changes
    GROUP BY month
)
SELECT m.month,
       COALESCE(p.status, 'not_started') AS status,
       p.dump_date,
       l.labels_records, l.artists_records, l.masters_records, l.releases_records,
       l.added, l.changed, l.removed, l.revived, l.unchanged,
       l.historical, l.entities_loaded, l.load_seconds,
       {{ seconds_between(p.download_started_at, COALESCE(p.completed_at, p.failed_at)) }}
           AS duration_seconds,
       p.retry_count, p.last_error, p.last_run_id, p.updated_at
FROM months m
LEFT JOIN discogs_data_processing p ON p.month = m.month
LEFT JOIN loads l ON l.month = m.month;
