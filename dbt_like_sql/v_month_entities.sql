-- depends_on: discogs_data_processing, discogs_month_phases, month_changes
-- One row per month and step owner ('checksum' or an entity) of the month's current attempt:
-- phase, parser version, records parsed and loaded, the load's change counts, seconds per
-- phase, and silent_failure = 1 when the month is completed with zero records in this entity.
-- The one definition of a silent failure: the health views and the metrics exporter read it.
-- records_loaded falls back to the load's own count for rows loaded before the column existed.
{{ replace_view(v_month_entities) }} AS
SELECT ph.month,
       ph.entity,
       p.status AS month_status,
       ph.phase,
       ph.parser_version,
       ph.run_id,
       ph.records_parsed,
       CASE WHEN ph.phase = 'loaded' THEN COALESCE(ph.records_loaded, c.staged_rows) END
           AS records_loaded,
       c.added, c.changed, c.removed, c.revived, c.unchanged, c.historical, c.dangling,
       {{ seconds_between(ph.download_started_at, ph.downloaded_at) }} AS download_seconds,
       {{ seconds_between(ph.parse_started_at, ph.parsed_at) }} AS parse_seconds,
       {{ seconds_between(ph.load_started_at, ph.loaded_at) }} AS load_seconds,
       ph.loaded_at,
       ph.note,
       CASE WHEN p.status = 'completed' AND ph.entity <> 'checksum'
                 AND (ph.records_parsed = 0 OR COALESCE(ph.records_loaded, c.staged_rows) = 0)
            THEN 1 ELSE 0 END AS silent_failure
FROM discogs_month_phases ph
JOIN discogs_data_processing p ON p.month = ph.month
LEFT JOIN month_changes c ON c.month = ph.month AND c.entity = ph.entity;
