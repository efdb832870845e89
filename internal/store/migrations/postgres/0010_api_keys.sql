-- API keys of other agencies' systems (CONTRACT 8, auth.APIKey). Only the
-- key's SHA-256 is kept (key_hash, hex), never the key. revoked_at_us and
-- last_used_at_us are 0 for "not yet". window_start_us and window_uses are
-- the per-key throttle's fixed window, counted in the row so that every
-- server on the database counts every use. Names are unique for good,
-- revoked keys included: the audit log names a key by it. seal is an HMAC
-- of the columns that say what the key may do (internal/store/apikeys.go),
-- so that a row written behind the server's back lets nobody in.
CREATE TABLE IF NOT EXISTS api_keys (
    id character varying(64) PRIMARY KEY,
    name character varying(64) NOT NULL,
    role character varying(32) NOT NULL,
    authority character varying(8) NOT NULL,
    key_hash character(64) NOT NULL,
    created_at_us bigint NOT NULL,
    created_by text NOT NULL,
    expires_at_us bigint NOT NULL,
    revoked_at_us bigint DEFAULT 0 NOT NULL,
    revoked_by text DEFAULT '' NOT NULL,
    last_used_at_us bigint DEFAULT 0 NOT NULL,
    window_start_us bigint DEFAULT 0 NOT NULL,
    window_uses integer DEFAULT 0 NOT NULL,
    seal character(64) NOT NULL,
    CONSTRAINT fk_api_keys_authority FOREIGN KEY (authority) REFERENCES authorities(code) ON UPDATE RESTRICT ON DELETE RESTRICT
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_api_keys_name ON api_keys (name);
CREATE UNIQUE INDEX IF NOT EXISTS ux_api_keys_hash ON api_keys (key_hash);
