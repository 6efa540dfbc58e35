-- What each load did to the current state, per (month, entity). A rerun of the same month adds
-- its (normally zero) changes to the row; historical = the month was older than the warehouse's
-- current month and was recorded without touching the current state.
CREATE TABLE IF NOT EXISTS month_changes (
    month          TEXT NOT NULL,
    entity         TEXT NOT NULL,
    historical     BOOLEAN NOT NULL,
    staged_rows    {{ bigint }} NOT NULL,
    added          {{ bigint }} NOT NULL,
    changed        {{ bigint }} NOT NULL,
    removed        {{ bigint }} NOT NULL,
    unchanged      {{ bigint }} NOT NULL,
    revived        {{ bigint }} NOT NULL,
    rows_written   {{ bigint }} NOT NULL,
    dangling       {{ json }},
    seconds        DOUBLE PRECISION NOT NULL,
    runs           INTEGER NOT NULL,
    run_id         TEXT,
    first_loaded_at {{ timestamp }} NOT NULL,
    loaded_at      {{ timestamp }} NOT NULL,
    PRIMARY KEY (month, entity)
);
