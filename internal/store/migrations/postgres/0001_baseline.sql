-- The schema of the last release before versioned migrations, as that
-- release's AutoMigrate made it. Every statement is IF NOT EXISTS: on a
-- database that release made, this migration is adopted (see adopt.go) and
-- changes nothing that is already there; on an empty one it creates all.

CREATE TABLE IF NOT EXISTS authorities (
    code character varying(8) NOT NULL PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE IF NOT EXISTS requests (
    seq bigserial PRIMARY KEY,
    id character varying(64) NOT NULL,
    reference character varying(64) NOT NULL,
    kind character varying(16) NOT NULL,
    state character varying(16) NOT NULL,
    version bigint NOT NULL,
    requesting_authority character varying(8) NOT NULL,
    requested_authority character varying(8) NOT NULL,
    title text NOT NULL,
    summary text NOT NULL,
    legal_basis text NOT NULL,
    offences text NOT NULL,
    measures text NOT NULL,
    urgency character varying(16) NOT NULL,
    urgency_reason text DEFAULT '' NOT NULL,
    due_date character varying(10) NOT NULL,
    person_sought text DEFAULT '' NOT NULL,
    warrant text DEFAULT '' NOT NULL,
    created_at_us bigint NOT NULL,
    updated_at_us bigint NOT NULL,
    CONSTRAINT fk_requests_requesting_parent FOREIGN KEY (requesting_authority) REFERENCES authorities(code) ON UPDATE RESTRICT ON DELETE RESTRICT,
    CONSTRAINT fk_requests_requested_parent FOREIGN KEY (requested_authority) REFERENCES authorities(code) ON UPDATE RESTRICT ON DELETE RESTRICT
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_requests_id ON requests (id);
CREATE UNIQUE INDEX IF NOT EXISTS ux_requests_reference ON requests (reference);
CREATE INDEX IF NOT EXISTS ix_requests_kind_seq ON requests (kind, seq);
CREATE INDEX IF NOT EXISTS ix_requests_requested_seq ON requests (requested_authority, seq);
CREATE INDEX IF NOT EXISTS ix_requests_requesting_seq ON requests (requesting_authority, seq);
CREATE INDEX IF NOT EXISTS ix_requests_state_seq ON requests (state, seq);

CREATE TABLE IF NOT EXISTS request_history (
    id bigserial PRIMARY KEY,
    request_id character varying(64) NOT NULL,
    event character varying(32) NOT NULL,
    from_state character varying(16) NOT NULL,
    to_state character varying(16) NOT NULL,
    actor text NOT NULL,
    authority character varying(8) NOT NULL,
    at_us bigint NOT NULL,
    comment text NOT NULL,
    grounds text NOT NULL,
    CONSTRAINT fk_request_history_request FOREIGN KEY (request_id) REFERENCES requests(id) ON UPDATE RESTRICT ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS ix_history_request_id ON request_history (request_id, id);

CREATE TABLE IF NOT EXISTS audit_entries (
    seq bigint NOT NULL PRIMARY KEY,
    at_us bigint NOT NULL,
    actor text NOT NULL,
    authority text NOT NULL,
    action text NOT NULL,
    request_id text NOT NULL,
    outcome text NOT NULL,
    details text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_audit_action_seq ON audit_entries (action, seq);
CREATE INDEX IF NOT EXISTS ix_audit_actor_seq ON audit_entries (actor, seq);
CREATE INDEX IF NOT EXISTS ix_audit_authority_seq ON audit_entries (authority, seq);
CREATE INDEX IF NOT EXISTS ix_audit_request_seq ON audit_entries (request_id, seq);

CREATE TABLE IF NOT EXISTS audit_head (
    id bigint NOT NULL PRIMARY KEY,
    seq bigint NOT NULL,
    hash text NOT NULL,
    seal text DEFAULT '' NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id character varying(64) NOT NULL PRIMARY KEY,
    username text NOT NULL,
    display_name text NOT NULL,
    role character varying(16) NOT NULL,
    authority character varying(8),
    password_hash text NOT NULL,
    password_temporary boolean DEFAULT false NOT NULL,
    disabled boolean NOT NULL,
    created_at_us bigint NOT NULL,
    seal text DEFAULT '' NOT NULL,
    CONSTRAINT fk_users_authority_parent FOREIGN KEY (authority) REFERENCES authorities(code) ON UPDATE RESTRICT ON DELETE RESTRICT
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_users_username ON users (username);

CREATE TABLE IF NOT EXISTS settings (
    name character varying(128) NOT NULL PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE IF NOT EXISTS reference_counters (
    authority character varying(8) NOT NULL,
    kind character varying(16) NOT NULL,
    year bigint NOT NULL,
    last_serial bigint NOT NULL,
    PRIMARY KEY (authority, kind, year)
);

CREATE TABLE IF NOT EXISTS auth_sessions (
    id character varying(64) NOT NULL PRIMARY KEY,
    user_id character varying(64) NOT NULL,
    created_at_us bigint NOT NULL,
    expires_at_us bigint NOT NULL,
    revoked_at_us bigint NOT NULL,
    revoke_reason character varying(32) NOT NULL,
    CONSTRAINT fk_auth_sessions_user FOREIGN KEY (user_id) REFERENCES users(id) ON UPDATE RESTRICT ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_auth_sessions_user ON auth_sessions (user_id);

CREATE TABLE IF NOT EXISTS refresh_tokens (
    id character varying(64) NOT NULL PRIMARY KEY,
    family_id character varying(64) NOT NULL,
    user_id character varying(64) NOT NULL,
    token_hash character varying(64) NOT NULL,
    created_at_us bigint NOT NULL,
    expires_at_us bigint NOT NULL,
    used_at_us bigint NOT NULL,
    revoked_at_us bigint NOT NULL,
    CONSTRAINT fk_refresh_tokens_family FOREIGN KEY (family_id) REFERENCES auth_sessions(id) ON UPDATE RESTRICT ON DELETE CASCADE,
    CONSTRAINT fk_refresh_tokens_user FOREIGN KEY (user_id) REFERENCES users(id) ON UPDATE RESTRICT ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_refresh_tokens_hash ON refresh_tokens (token_hash);
CREATE INDEX IF NOT EXISTS ix_refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS ix_refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE IF NOT EXISTS signing_keys (
    id character varying(64) NOT NULL PRIMARY KEY,
    secret text NOT NULL,
    sealed_secret text DEFAULT '' NOT NULL,
    created_at_us bigint NOT NULL,
    retired_at_us bigint NOT NULL
);

-- The dashboard's counts by side and state, kept by every change of state.
-- A release that had no such table gets it filled from its requests; one
-- that had it keeps what it holds.
CREATE TABLE IF NOT EXISTS request_counts (
    requesting_authority character varying(8) NOT NULL,
    requested_authority character varying(8) NOT NULL,
    state character varying(32) NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (requesting_authority, requested_authority, state)
);
INSERT INTO request_counts (requesting_authority, requested_authority, state, n)
SELECT requesting_authority, requested_authority, state, COUNT(*) FROM requests
WHERE NOT EXISTS (SELECT 1 FROM request_counts)
GROUP BY requesting_authority, requested_authority, state;
