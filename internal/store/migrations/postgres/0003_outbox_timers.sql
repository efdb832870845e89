-- The outbox and the timers: what must happen after a change is a row
-- written in the change's transaction, and a job acts on it later
-- (docs/DESIGN.md, "The record of change"). IF NOT EXISTS, as in 0001:
-- running it again on a database that has them changes nothing.

-- One row per committed change of a request, for the webhooks and the
-- event stream. id is the sequence number of the change's audit entry,
-- given under the audit head's lock: it increases in commit order (no
-- sequence, whose numbers are taken in the order transactions ask, not in
-- the order they commit). audience lists the authorities that may see the
-- change; payload what they may see of it (JSON).
CREATE TABLE IF NOT EXISTS outbox (
    id bigint PRIMARY KEY,
    request_id text NOT NULL,
    action text NOT NULL,
    audience text NOT NULL,
    created_at_us bigint NOT NULL,
    payload text NOT NULL
);

-- Things to do at a time: due_at_us, what (kind) about what (subject).
-- A job claims a due timer until claimed_until_us and deletes it when
-- done; a change may cancel the timers of a kind and subject.
CREATE TABLE IF NOT EXISTS timers (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    subject text NOT NULL,
    due_at_us bigint NOT NULL,
    payload text NOT NULL DEFAULT '',
    created_at_us bigint NOT NULL,
    claimed_until_us bigint NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_timers_due ON timers (due_at_us, id);
CREATE INDEX IF NOT EXISTS ix_timers_kind_subject ON timers (kind, subject);
