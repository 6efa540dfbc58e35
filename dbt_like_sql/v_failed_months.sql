-- depends_on: discogs_data_processing
-- Months whose last attempt failed, with what the retry machinery needs to know.
DROP VIEW IF EXISTS v_failed_months;
CREATE VIEW v_failed_months AS
SELECT month, last_error, failure_retryable, retry_count, next_retry_at, failed_at,
       last_run_id, gate_disabled, gate_note
FROM discogs_data_processing
WHERE status = 'failed';
