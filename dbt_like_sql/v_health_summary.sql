-- depends_on: discogs_data_processing, v_month_entities
-- Pipeline health over the last 7, 30, 90 and 365 days, one row per window (window_days), by
-- each month's current status: completed (completed_at in the window), failed (failed_at in the
-- window), pending (in flight, touched in the window), silent_failures (completed in the window
-- with zero records in some entity) and success_rate = completed without a silent failure /
-- (completed + failed); NULL when nothing finished in the window.
DROP VIEW IF EXISTS v_health_summary;
CREATE VIEW v_health_summary AS
WITH windows (days) AS (VALUES (7), (30), (90), (365)),
silent AS (
    SELECT month FROM v_month_entities GROUP BY month HAVING MAX(silent_failure) = 1
),
months AS (
    SELECT p.status,
           {{ seconds_since(p.completed_at) }} / 86400.0 AS completed_days_ago,
           {{ seconds_since(p.failed_at) }} / 86400.0 AS failed_days_ago,
           {{ seconds_since(p.updated_at) }} / 86400.0 AS updated_days_ago,
           CASE WHEN s.month IS NULL THEN 0 ELSE 1 END AS silent
    FROM discogs_data_processing p
    LEFT JOIN silent s ON s.month = p.month
),
counts AS (
    SELECT w.days AS window_days,
           COALESCE(SUM(CASE WHEN m.status = 'completed' AND m.completed_days_ago <= w.days
                             THEN 1 ELSE 0 END), 0) AS completed,
           COALESCE(SUM(CASE WHEN m.status = 'failed' AND m.failed_days_ago <= w.days
                             THEN 1 ELSE 0 END), 0) AS failed,
           COALESCE(SUM(CASE WHEN m.status IN ('not_started', 'downloading',
                                               'ready_for_processing', 'processing')
                                  AND m.updated_days_ago <= w.days
                             THEN 1 ELSE 0 END), 0) AS pending,
           COALESCE(SUM(CASE WHEN m.status = 'completed' AND m.completed_days_ago <= w.days
                                  AND m.silent = 1
                             THEN 1 ELSE 0 END), 0) AS silent_failures
    FROM windows w
    LEFT JOIN months m ON 1 = 1
    GROUP BY w.days
)
SELECT window_days, completed, failed, pending, silent_failures,
       CAST(completed - silent_failures AS DOUBLE PRECISION) / NULLIF(completed + failed, 0)
           AS success_rate
FROM counts;
