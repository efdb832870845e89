-- The case file's documents (CONTRACT 6): one row per uploaded file, its
-- metadata only. The bytes live outside the database, in the blob store
-- (docs/DESIGN.md, "Documents"), under blob_key; sha256 is the hash taken
-- while they were streamed in, checked again on every download.
-- translation_of names the document a translation renders, of the same
-- request. A document is never deleted: the audit log names it.
CREATE TABLE IF NOT EXISTS documents (
    id text PRIMARY KEY,
    request_id text NOT NULL REFERENCES requests (id),
    type text NOT NULL,
    language text NOT NULL,
    title text NOT NULL,
    filename text NOT NULL,
    media_type text NOT NULL,
    size bigint NOT NULL,
    sha256 text NOT NULL,
    blob_key text NOT NULL,
    translation_of text REFERENCES documents (id),
    translation_status text NOT NULL DEFAULT '',
    uploaded_by text NOT NULL,
    authority text NOT NULL,
    at_us bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_documents_request ON documents (request_id, at_us, id);
