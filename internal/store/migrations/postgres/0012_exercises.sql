-- Training exercises (CONTRACT 7). Each exercise is a world of its own,
-- with its own database (a file under exercises/ beside this one, or a
-- PostgreSQL schema); the live database keeps only this registry and the
-- directory of trainee accounts, so that a log-in can find its world.
-- The clock is an anchor: at real time anchor_real_us the exercise time
-- was anchor_at_us, and it runs at speed exercise seconds per real second
-- while running. Every server reads it from here, so all agree.
CREATE TABLE IF NOT EXISTS exercises (
    id character varying(64) PRIMARY KEY,
    scenario character varying(128) NOT NULL,
    title text NOT NULL,
    seed bigint NOT NULL,
    state character varying(16) NOT NULL,
    speed double precision NOT NULL,
    running boolean NOT NULL,
    anchor_real_us bigint NOT NULL,
    anchor_at_us bigint NOT NULL,
    started boolean NOT NULL,
    world character varying(128) NOT NULL,
    created_by text NOT NULL,
    created_at_us bigint NOT NULL,
    ended_at_us bigint
);
CREATE INDEX IF NOT EXISTS ix_exercises_state ON exercises (state);
-- The trainee accounts of every exercise: their passwords (hashed) and
-- sessions live in the world's own schema; this row only says which world
-- a username belongs to.
CREATE TABLE IF NOT EXISTS exercise_trainees (
    username character varying(64) PRIMARY KEY,
    exercise_id character varying(64) NOT NULL REFERENCES exercises (id) ON DELETE CASCADE,
    user_id character varying(64) NOT NULL,
    authority character varying(8) NOT NULL,
    role character varying(32) NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_exercise_trainees_exercise ON exercise_trainees (exercise_id);
