-- Identities an organisation cares about, each pointing at a source record. Loaded by
-- `discogs-pipeline identities import FILE.csv`; read by the identity-cache warm and the LML
-- refresh. identity_id is the LML service's integer identity id. A warehouse created when it
-- was TEXT keeps that type (CREATE ... IF NOT EXISTS): `discogs-pipeline identities migrate-ids`
-- converts it, and the identity code refuses to run until then.
-- A person sets discogs_unavailable after a false match: such an identity is never warmed from
-- Discogs data (flagging it purges its cache documents), and a note explaining why is only
-- allowed together with the flag.
CREATE TABLE IF NOT EXISTS identity (
    identity_id {{ bigint }} PRIMARY KEY,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT {{ true }},
    discogs_unavailable BOOLEAN NOT NULL DEFAULT {{ false }},
    discogs_unavailable_note TEXT,
    imported_at {{ timestamp }},
    -- outcome of the last local warm (warmed | not_found | not_implemented | error), or
    -- skipped_discogs_unavailable once the identity was flagged
    warm_outcome TEXT,
    warm_message TEXT,
    warm_month TEXT,
    warmed_at {{ timestamp }},
    CONSTRAINT identity_note_needs_flag
        CHECK (discogs_unavailable_note IS NULL OR discogs_unavailable)
);
CREATE INDEX IF NOT EXISTS identity_source_external_id ON identity (source, external_id)
