-- depends_on: discogs_data_processing
-- Months on their way (neither completed nor failed).
DROP VIEW IF EXISTS v_pending_months;
CREATE VIEW v_pending_months AS
SELECT month, status, dump_date, updated_at, last_run_id, gate_disabled, gate_note
FROM discogs_data_processing
WHERE status IN ('not_started', 'downloading', 'ready_for_processing', 'processing');
