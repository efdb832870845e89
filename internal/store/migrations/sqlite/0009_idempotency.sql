-- Idempotency keys (CONTRACT 8): one row per caller (owner, a user id) and
-- key. token names the attempt holding the key; effect_seq is written in
-- that attempt's own write transactions (0: no effect committed yet), so
-- that a key whose change committed is never run again even if the server
-- died before the answer was stored. status 0 while pending; then the
-- answer: status, the replayed headers (JSON) and body. Keys live 24 hours
-- from created_at_us; the prune job deletes older ones by that index.
CREATE TABLE IF NOT EXISTS `idempotency_keys` (`owner` text NOT NULL,`idem_key` text NOT NULL,`token` text NOT NULL,`fingerprint` text NOT NULL DEFAULT '',`created_at_us` integer NOT NULL,`lease_until_us` integer NOT NULL,`effect_seq` integer NOT NULL DEFAULT 0,`status` integer NOT NULL DEFAULT 0,`headers` text NOT NULL DEFAULT '',`body` blob,PRIMARY KEY (`owner`,`idem_key`));
CREATE INDEX IF NOT EXISTS `ix_idempotency_keys_created` ON `idempotency_keys`(`created_at_us`);
