-- Training exercises (CONTRACT 7). Each exercise is a world of its own,
-- with its own database (a file under exercises/ beside this one, or a
-- PostgreSQL schema); the live database keeps only this registry and the
-- directory of trainee accounts, so that a log-in can find its world.
-- The clock is an anchor: at real time anchor_real_us the exercise time
-- was anchor_at_us, and it runs at speed exercise seconds per real second
-- while running is 1. Every server reads it from here, so all agree.
CREATE TABLE exercises (
	id TEXT PRIMARY KEY,
	scenario TEXT NOT NULL,
	title TEXT NOT NULL,
	seed INTEGER NOT NULL,
	state TEXT NOT NULL,
	speed REAL NOT NULL,
	running INTEGER NOT NULL,
	anchor_real_us INTEGER NOT NULL,
	anchor_at_us INTEGER NOT NULL,
	started INTEGER NOT NULL,
	world TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at_us INTEGER NOT NULL,
	ended_at_us INTEGER
);
CREATE INDEX ix_exercises_state ON exercises (state);
-- The trainee accounts of every exercise: their passwords (hashed) and
-- sessions live in the world's own database; this row only says which
-- world a username belongs to.
CREATE TABLE exercise_trainees (
	username TEXT PRIMARY KEY,
	exercise_id TEXT NOT NULL REFERENCES exercises (id) ON DELETE CASCADE,
	user_id TEXT NOT NULL,
	authority TEXT NOT NULL,
	role TEXT NOT NULL
);
CREATE INDEX ix_exercise_trainees_exercise ON exercise_trainees (exercise_id);
