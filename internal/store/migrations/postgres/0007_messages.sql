-- The thread of a request (CONTRACT 6): messages, consultations, status
-- enquiries and internal notes, oldest first by seq. internal: seen by the
-- author's authority only. read_at_us: the counterpart's read receipt, NULL
-- while unread. The partial index finds what the lists mark unread.
CREATE TABLE IF NOT EXISTS messages (
    seq bigserial PRIMARY KEY,
    id character varying(64) NOT NULL,
    request_id character varying(64) NOT NULL,
    kind character varying(32) NOT NULL,
    internal boolean NOT NULL,
    body text NOT NULL,
    actor text NOT NULL,
    authority character varying(8) NOT NULL,
    at_us bigint NOT NULL,
    read_at_us bigint,
    CONSTRAINT fk_messages_request FOREIGN KEY (request_id) REFERENCES requests(id) ON UPDATE RESTRICT ON DELETE RESTRICT
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_messages_id ON messages (id);
CREATE INDEX IF NOT EXISTS ix_messages_request ON messages (request_id, seq);
CREATE INDEX IF NOT EXISTS ix_messages_unread ON messages (request_id, authority) WHERE read_at_us IS NULL AND NOT internal;
