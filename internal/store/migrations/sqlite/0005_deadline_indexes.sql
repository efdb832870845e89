-- Indexes that keep the deadline lists of a million requests to one index
-- walk each (docs/BENCHMARKS.md, "Deadlines: what they cost"):
--
-- the side's (authority, seq) index carries next_due_at_us, so that the
-- deadline filters in the default, newest-first order test the due time
-- in the index instead of reading each row of the side;
--
-- (authority, state, next_due_at_us, seq DESC) per side, so that the
-- worklist, which asks for a few states by due time, reads each state's
-- range in order and stops at the page's end.

DROP INDEX IF EXISTS `ix_requests_requesting_seq`;
DROP INDEX IF EXISTS `ix_requests_requested_seq`;
CREATE INDEX IF NOT EXISTS `ix_requests_requesting_seq` ON `requests`(`requesting_authority`,`seq`,`next_due_at_us`);
CREATE INDEX IF NOT EXISTS `ix_requests_requested_seq` ON `requests`(`requested_authority`,`seq`,`next_due_at_us`);
CREATE INDEX IF NOT EXISTS `ix_requests_requesting_state_due` ON `requests`(`requesting_authority`,`state`,`next_due_at_us`,`seq` DESC);
CREATE INDEX IF NOT EXISTS `ix_requests_requested_state_due` ON `requests`(`requested_authority`,`state`,`next_due_at_us`,`seq` DESC);
