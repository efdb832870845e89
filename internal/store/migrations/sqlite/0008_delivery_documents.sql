-- Execution in part with evidence (CONTRACT 6): the ids of the documents a
-- delivery handed over, as a JSON array; '' (read as none) on the rows of
-- every other event and of deliveries made before this migration.

ALTER TABLE `request_history` ADD COLUMN `documents` text NOT NULL DEFAULT '';
