-- The events the log-in throttle counts (auth.LoginEvents), in the
-- database rather than in each server's memory, so that several servers on
-- one database count the attempts made on all of them, and a restart
-- forgets none.
CREATE TABLE login_events (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT NOT NULL,
	subject TEXT NOT NULL,
	at_us INTEGER NOT NULL
);
CREATE INDEX ix_login_events_subject ON login_events (kind, subject, at_us);
CREATE INDEX ix_login_events_at ON login_events (at_us);
