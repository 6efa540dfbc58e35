-- depends_on: v_month_entities
-- Per parser version (recorded per entity and month as its parse starts): the months it
-- parsed, how many of them failed or completed with zero records in some entity, failure_rate
-- = (failed + silent failure months) / months, and its speed: records parsed per second of
-- parse time (entities whose parse finished).
DROP VIEW IF EXISTS v_parser_performance;
CREATE VIEW v_parser_performance AS
SELECT parser_version,
       COUNT(DISTINCT month) AS months,
       COUNT(DISTINCT CASE WHEN month_status = 'failed' THEN month END) AS failed_months,
       COUNT(DISTINCT CASE WHEN silent_failure = 1 THEN month END) AS silent_failure_months,
       CAST(COUNT(DISTINCT CASE WHEN month_status = 'failed' OR silent_failure = 1
                                THEN month END) AS DOUBLE PRECISION)
           / COUNT(DISTINCT month) AS failure_rate,
       CAST(SUM(records_parsed) AS {{ bigint }}) AS records_parsed,
       CAST(SUM(CASE WHEN records_parsed IS NOT NULL THEN parse_seconds END)
            AS DOUBLE PRECISION) AS parse_seconds,
       CAST(SUM(records_parsed) AS DOUBLE PRECISION)
           / NULLIF(SUM(CASE WHEN records_parsed IS NOT NULL THEN parse_seconds END), 0)
           AS records_per_s
FROM v_month_entities
WHERE parser_version IS NOT NULL AND entity <> 'checksum'
GROUP BY parser_version;
