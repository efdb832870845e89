-- The schema of the last release before versioned migrations, as that
-- release's AutoMigrate made it. Every statement is IF NOT EXISTS: on a
-- database that release made, this migration is adopted (see adopt.go) and
-- changes nothing that is already there; on an empty one it creates all.

CREATE TABLE IF NOT EXISTS `authorities` (`code` text,`name` text NOT NULL,PRIMARY KEY (`code`));

CREATE TABLE IF NOT EXISTS `requests` (`seq` integer PRIMARY KEY AUTOINCREMENT,`id` text NOT NULL,`reference` text NOT NULL,`kind` text NOT NULL,`state` text NOT NULL,`version` integer NOT NULL,`requesting_authority` text NOT NULL,`requested_authority` text NOT NULL,`title` text NOT NULL,`summary` text NOT NULL,`legal_basis` text NOT NULL,`offences` text NOT NULL,`measures` text NOT NULL,`urgency` text NOT NULL,`urgency_reason` text NOT NULL DEFAULT '',`due_date` text NOT NULL,`person_sought` text NOT NULL DEFAULT '',`warrant` text NOT NULL DEFAULT '',`created_at_us` integer NOT NULL,`updated_at_us` integer NOT NULL,CONSTRAINT `fk_requests_requesting_parent` FOREIGN KEY (`requesting_authority`) REFERENCES `authorities`(`code`) ON DELETE RESTRICT ON UPDATE RESTRICT,CONSTRAINT `fk_requests_requested_parent` FOREIGN KEY (`requested_authority`) REFERENCES `authorities`(`code`) ON DELETE RESTRICT ON UPDATE RESTRICT);
CREATE UNIQUE INDEX IF NOT EXISTS `ux_requests_reference` ON `requests`(`reference`);
CREATE UNIQUE INDEX IF NOT EXISTS `ux_requests_id` ON `requests`(`id`);
CREATE INDEX IF NOT EXISTS `ix_requests_requested_seq` ON `requests`(`requested_authority`,`seq`);
CREATE INDEX IF NOT EXISTS `ix_requests_requesting_seq` ON `requests`(`requesting_authority`,`seq`);
CREATE INDEX IF NOT EXISTS `ix_requests_state_seq` ON `requests`(`state`,`seq`);
CREATE INDEX IF NOT EXISTS `ix_requests_kind_seq` ON `requests`(`kind`,`seq`);

CREATE TABLE IF NOT EXISTS `request_history` (`id` integer PRIMARY KEY AUTOINCREMENT,`request_id` text NOT NULL,`event` text NOT NULL,`from_state` text NOT NULL,`to_state` text NOT NULL,`actor` text NOT NULL,`authority` text NOT NULL,`at_us` integer NOT NULL,`comment` text NOT NULL,`grounds` text NOT NULL,CONSTRAINT `fk_request_history_request` FOREIGN KEY (`request_id`) REFERENCES `requests`(`id`) ON DELETE RESTRICT ON UPDATE RESTRICT);
CREATE INDEX IF NOT EXISTS `ix_history_request_id` ON `request_history`(`request_id`,`id`);

CREATE TABLE IF NOT EXISTS `audit_entries` (`seq` integer,`at_us` integer NOT NULL,`actor` text NOT NULL,`authority` text NOT NULL,`action` text NOT NULL,`request_id` text NOT NULL,`outcome` text NOT NULL,`details` text NOT NULL,`prev_hash` text NOT NULL,`hash` text NOT NULL,PRIMARY KEY (`seq`));
CREATE INDEX IF NOT EXISTS `ix_audit_action_seq` ON `audit_entries`(`action`,`seq`);
CREATE INDEX IF NOT EXISTS `ix_audit_request_seq` ON `audit_entries`(`request_id`,`seq`);
CREATE INDEX IF NOT EXISTS `ix_audit_authority_seq` ON `audit_entries`(`authority`,`seq`);
CREATE INDEX IF NOT EXISTS `ix_audit_actor_seq` ON `audit_entries`(`actor`,`seq`);

CREATE TABLE IF NOT EXISTS `audit_head` (`id` integer,`seq` integer NOT NULL,`hash` text NOT NULL,`seal` text NOT NULL DEFAULT '',PRIMARY KEY (`id`));

CREATE TABLE IF NOT EXISTS `users` (`id` text,`username` text NOT NULL,`display_name` text NOT NULL,`role` text NOT NULL,`authority` text,`password_hash` text NOT NULL,`password_temporary` numeric NOT NULL DEFAULT false,`disabled` numeric NOT NULL,`created_at_us` integer NOT NULL,`seal` text NOT NULL DEFAULT '',PRIMARY KEY (`id`),CONSTRAINT `fk_users_authority_parent` FOREIGN KEY (`authority`) REFERENCES `authorities`(`code`) ON DELETE RESTRICT ON UPDATE RESTRICT);
CREATE UNIQUE INDEX IF NOT EXISTS `ux_users_username` ON `users`(`username`);

CREATE TABLE IF NOT EXISTS `settings` (`name` text,`value` text NOT NULL,PRIMARY KEY (`name`));

CREATE TABLE IF NOT EXISTS `reference_counters` (`authority` text,`kind` text,`year` integer,`last_serial` integer NOT NULL,PRIMARY KEY (`authority`,`kind`,`year`));

CREATE TABLE IF NOT EXISTS `auth_sessions` (`id` text,`user_id` text NOT NULL,`created_at_us` integer NOT NULL,`expires_at_us` integer NOT NULL,`revoked_at_us` integer NOT NULL,`revoke_reason` text NOT NULL,PRIMARY KEY (`id`),CONSTRAINT `fk_auth_sessions_user` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE CASCADE ON UPDATE RESTRICT);
CREATE INDEX IF NOT EXISTS `ix_auth_sessions_user` ON `auth_sessions`(`user_id`);

CREATE TABLE IF NOT EXISTS `refresh_tokens` (`id` text,`family_id` text NOT NULL,`user_id` text NOT NULL,`token_hash` text NOT NULL,`created_at_us` integer NOT NULL,`expires_at_us` integer NOT NULL,`used_at_us` integer NOT NULL,`revoked_at_us` integer NOT NULL,PRIMARY KEY (`id`),CONSTRAINT `fk_refresh_tokens_family` FOREIGN KEY (`family_id`) REFERENCES `auth_sessions`(`id`) ON DELETE CASCADE ON UPDATE RESTRICT,CONSTRAINT `fk_refresh_tokens_user` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE CASCADE ON UPDATE RESTRICT);
CREATE UNIQUE INDEX IF NOT EXISTS `ux_refresh_tokens_hash` ON `refresh_tokens`(`token_hash`);
CREATE INDEX IF NOT EXISTS `ix_refresh_tokens_user` ON `refresh_tokens`(`user_id`);
CREATE INDEX IF NOT EXISTS `ix_refresh_tokens_family` ON `refresh_tokens`(`family_id`);

CREATE TABLE IF NOT EXISTS `signing_keys` (`id` text,`secret` text NOT NULL,`sealed_secret` text NOT NULL DEFAULT '',`created_at_us` integer NOT NULL,`retired_at_us` integer NOT NULL,PRIMARY KEY (`id`));

-- The dashboard's counts by side and state, kept by every change of state.
-- A release that had no such table gets it filled from its requests; one
-- that had it keeps what it holds.
CREATE TABLE IF NOT EXISTS request_counts (
	requesting_authority VARCHAR(8) NOT NULL,
	requested_authority VARCHAR(8) NOT NULL,
	state VARCHAR(32) NOT NULL,
	n BIGINT NOT NULL,
	PRIMARY KEY (requesting_authority, requested_authority, state)
);
INSERT INTO request_counts (requesting_authority, requested_authority, state, n)
SELECT requesting_authority, requested_authority, state, COUNT(*) FROM requests
WHERE NOT EXISTS (SELECT 1 FROM request_counts)
GROUP BY requesting_authority, requested_authority, state;
