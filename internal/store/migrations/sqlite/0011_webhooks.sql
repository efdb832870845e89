-- Webhooks (CONTRACT 8): subscriptions, their deliveries, and the cursor of
-- the job that turns outbox messages into deliveries (docs/DESIGN.md,
-- "Webhooks").
--
-- webhooks: one subscription of an authority. events is the list of audit
-- actions it wants, comma-separated ("*" for all). sealed_secret is the
-- signing secret sealed with a key derived from the audit key (the server
-- must keep it to sign; whoever reads the database must not be able to
-- forge deliveries). deleted_at_us is 0 while the subscription is active.
CREATE TABLE IF NOT EXISTS `webhooks` (`id` text PRIMARY KEY,`authority` text NOT NULL,`url` text NOT NULL,`events` text NOT NULL,`sealed_secret` text NOT NULL,`created_by` text NOT NULL,`created_at_us` integer NOT NULL,`deleted_at_us` integer NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS `ix_webhooks_authority` ON `webhooks`(`authority`,`created_at_us`);

-- webhook_deliveries: one outbox message for one subscription. id is the
-- Standard Webhooks message id (webhook-id), the same at every attempt;
-- body is the JSON sent, fixed when the delivery is made. status: pending,
-- delivered, dead, cancelled (its webhook deleted). A sender claims a
-- pending delivery until claimed_until_us under the token claim, and
-- records its outcome only while it still holds that claim.
CREATE TABLE IF NOT EXISTS `webhook_deliveries` (`id` text PRIMARY KEY,`webhook_id` text NOT NULL,`outbox_id` integer NOT NULL,`request_id` text NOT NULL,`event_type` text NOT NULL,`body` text NOT NULL,`status` text NOT NULL,`attempts` integer NOT NULL DEFAULT 0,`next_attempt_us` integer NOT NULL,`last_error` text NOT NULL DEFAULT '',`last_status` integer NOT NULL DEFAULT 0,`created_at_us` integer NOT NULL,`last_attempt_us` integer NOT NULL DEFAULT 0,`delivered_at_us` integer NOT NULL DEFAULT 0,`claimed_until_us` integer NOT NULL DEFAULT 0,`claim` text NOT NULL DEFAULT '');
-- One delivery per message and subscription, whoever makes it.
CREATE UNIQUE INDEX IF NOT EXISTS `ux_webhook_deliveries_message` ON `webhook_deliveries`(`webhook_id`,`outbox_id`);
-- The order per subscription and request (delivery n+1 waits for n).
CREATE INDEX IF NOT EXISTS `ix_webhook_deliveries_chain` ON `webhook_deliveries`(`webhook_id`,`request_id`,`outbox_id`);
CREATE INDEX IF NOT EXISTS `ix_webhook_deliveries_due` ON `webhook_deliveries`(`status`,`next_attempt_us`);

-- webhook_cursor: the last outbox id turned into deliveries. It starts at
-- the outbox's end: the messages written before webhooks existed are past.
CREATE TABLE IF NOT EXISTS `webhook_cursor` (`name` text PRIMARY KEY,`last_id` integer NOT NULL);
INSERT INTO `webhook_cursor` (`name`, `last_id`) SELECT 'deliveries', COALESCE(MAX(`id`), 0) FROM `outbox` WHERE NOT EXISTS (SELECT 1 FROM `webhook_cursor` WHERE `name` = 'deliveries');
