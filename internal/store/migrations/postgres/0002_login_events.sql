-- The events the log-in throttle counts (auth.LoginEvents), in the
-- database rather than in each server's memory, so that several servers on
-- one database count the attempts made on all of them, and a restart
-- forgets none.
CREATE TABLE login_events (
    id bigserial PRIMARY KEY,
    kind character varying(16) NOT NULL,
    subject text NOT NULL,
    at_us bigint NOT NULL
);
CREATE INDEX ix_login_events_subject ON login_events (kind, subject, at_us);
CREATE INDEX ix_login_events_at ON login_events (at_us);
