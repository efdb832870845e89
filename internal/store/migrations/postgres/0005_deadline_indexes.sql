-- Indexes that keep the deadline lists of a million requests to one short
-- index walk each (docs/BENCHMARKS.md, "Deadlines: what they cost"):
--
-- (authority, seq, next_due_at_us, ...) per side over the requests with a
-- running deadline only, so that the deadline filters in the default,
-- newest-first order walk those few instead of every request of the side,
-- from the index alone: it holds what the first step of such a list reads
-- (store.listRows; on SQLite the query names it, store.listFrom, as the
-- planner preferred the side's (authority, seq) index with bound values;
-- a comparison of next_due_at_us implies it is not NULL, which both
-- databases' planners see);
--
-- (authority, state, urgency, next_due_at_us, seq DESC, the other side's
-- authority) per side, so that the worklist, which asks for a few states
-- by due time and urgency, reads each state's and urgency's range in
-- order from the index alone and stops at the page's end.

CREATE INDEX IF NOT EXISTS ix_requests_requesting_running ON requests (requesting_authority,seq,next_due_at_us,state,urgency) WHERE next_due_at_us IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_requests_requested_running ON requests (requested_authority,seq,next_due_at_us,state,urgency,requesting_authority) WHERE next_due_at_us IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_requests_requesting_worklist ON requests (requesting_authority,state,urgency,next_due_at_us,seq DESC,requested_authority);
CREATE INDEX IF NOT EXISTS ix_requests_requested_worklist ON requests (requested_authority,state,urgency,next_due_at_us,seq DESC,requesting_authority);
