-- Deliveries delivered at their first attempt, sent straight from the
-- outbox (docs/DESIGN.md, "Webhooks"): one small row each, written in the
-- sender's batch, so that delivering costs the writer, which the changes
-- share, next to nothing. Everything else a delivery can be (failed and
-- due again, waiting behind an earlier one, dead, cancelled, re-sent) is a
-- row of webhook_deliveries as before. The message itself (request, action,
-- time, body) is the outbox row outbox_id, which is kept; the delivery's
-- webhook-id is derived from the two keys (webhook.DeliveryID).
CREATE TABLE IF NOT EXISTS `webhook_delivered` (`webhook_id` text NOT NULL,`outbox_id` integer NOT NULL,`delivered_at_us` integer NOT NULL,`status_code` integer NOT NULL,PRIMARY KEY (`webhook_id`,`outbox_id`)) WITHOUT ROWID;

-- The due heads, in the order they are claimed (due time, then message):
-- the claim walks this index and stops at its limit.
DROP INDEX IF EXISTS `ix_webhook_deliveries_due`;
CREATE INDEX IF NOT EXISTS `ix_webhook_deliveries_due_order` ON `webhook_deliveries`(`status`,`next_attempt_us`,`outbox_id`);
