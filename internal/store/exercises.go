package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Exercise is the registry's record of a training exercise (CONTRACT 7):
// what the live database knows of it. Everything that happens inside it is
// in its world's own database (see WorldDSN).
type Exercise struct {
	ID       string
	Scenario string
	Title    string
	Seed     int64
	State    string // "ready", "running", "paused", "ended"
	// The clock's anchor: at real time AnchorReal the exercise time was
	// AnchorAt; it moves at Speed exercise seconds per real second while
	// Running.
	Speed      float64
	Running    bool
	AnchorReal time.Time
	AnchorAt   time.Time
	// Started says that the scenario's starting requests were made.
	Started   bool
	World     string // the name of its world: a file or a schema
	CreatedBy string
	CreatedAt time.Time
	EndedAt   time.Time // zero while not ended
}

// Trainee is a trainee account as the live directory knows it: which
// world a username belongs to. Its password and sessions are the world's.
type Trainee struct {
	Username   string
	ExerciseID string
	UserID     string
	Authority  string
	Role       string
}

type exerciseRow struct {
	ID           string  `gorm:"column:id;primaryKey"`
	Scenario     string  `gorm:"column:scenario"`
	Title        string  `gorm:"column:title"`
	Seed         int64   `gorm:"column:seed"`
	State        string  `gorm:"column:state"`
	Speed        float64 `gorm:"column:speed"`
	Running      bool    `gorm:"column:running"`
	AnchorRealUS int64   `gorm:"column:anchor_real_us"`
	AnchorAtUS   int64   `gorm:"column:anchor_at_us"`
	Started      bool    `gorm:"column:started"`
	World        string  `gorm:"column:world"`
	CreatedBy    string  `gorm:"column:created_by"`
	CreatedAtUS  int64   `gorm:"column:created_at_us"`
	EndedAtUS    *int64  `gorm:"column:ended_at_us"`
}

func (exerciseRow) TableName() string { return "exercises" }

type traineeRow struct {
	Username   string `gorm:"column:username;primaryKey"`
	ExerciseID string `gorm:"column:exercise_id"`
	UserID     string `gorm:"column:user_id"`
	Authority  string `gorm:"column:authority"`
	Role       string `gorm:"column:role"`
}

func (traineeRow) TableName() string { return "exercise_trainees" }

func usOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func timeOfUS(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func exerciseToRow(e Exercise) exerciseRow {
	r := exerciseRow{
		ID: e.ID, Scenario: e.Scenario, Title: e.Title, Seed: e.Seed, State: e.State, Speed: e.Speed,
		Running: e.Running, AnchorRealUS: usOf(e.AnchorReal), AnchorAtUS: usOf(e.AnchorAt), Started: e.Started,
		World: e.World, CreatedBy: e.CreatedBy, CreatedAtUS: usOf(e.CreatedAt),
	}
	if !e.EndedAt.IsZero() {
		us := e.EndedAt.UnixMicro()
		r.EndedAtUS = &us
	}
	return r
}

func (r exerciseRow) toDomain() Exercise {
	e := Exercise{
		ID: r.ID, Scenario: r.Scenario, Title: r.Title, Seed: r.Seed, State: r.State, Speed: r.Speed,
		Running: r.Running, AnchorReal: timeOfUS(r.AnchorRealUS), AnchorAt: timeOfUS(r.AnchorAtUS), Started: r.Started,
		World: r.World, CreatedBy: r.CreatedBy, CreatedAt: timeOfUS(r.CreatedAtUS),
	}
	if r.EndedAtUS != nil {
		e.EndedAt = timeOfUS(*r.EndedAtUS)
	}
	return e
}

var errExerciseNotFound = workflow.Errorf(workflow.ErrNotFound, "exercise not found")

// CreateExercise registers an exercise and its trainees' directory entries
// and applies c (its audit record), in one transaction. A username that an
// account of the live world or of another exercise has already is a
// conflict.
func (s *Store) CreateExercise(ctx context.Context, e Exercise, trainees []Trainee, c workflow.Change) error {
	return s.withTx(ctx, func(t *tx) error {
		db := t.db.WithContext(ctx)
		if err := db.Create(ptr(exerciseToRow(e))).Error; err != nil {
			if isDuplicate(err) {
				return workflow.Errorf(workflow.ErrConflict, "exercise %q exists", e.ID)
			}
			return err
		}
		for _, tr := range trainees {
			var n int64
			if err := db.Model(&userRow{}).Where("username = ?", tr.Username).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return usernameTaken(tr.Username)
			}
			row := traineeRow{Username: tr.Username, ExerciseID: e.ID, UserID: tr.UserID, Authority: tr.Authority, Role: tr.Role}
			if err := db.Create(&row).Error; err != nil {
				if isDuplicate(err) {
					return usernameTaken(tr.Username)
				}
				return err
			}
		}
		return t.Apply(ctx, c)
	})
}

func ptr[T any](v T) *T { return &v }

// UpdateExercise writes every field of the registered exercise e.ID (its
// state and clock) and applies c, in one transaction; ErrNotFound when it
// is not registered.
func (s *Store) UpdateExercise(ctx context.Context, e Exercise, c workflow.Change) error {
	return s.withTx(ctx, func(t *tx) error {
		res := t.db.WithContext(ctx).Select("*").Omit("id", "created_at_us", "created_by", "world").Save(ptr(exerciseToRow(e)))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errExerciseNotFound
		}
		return t.Apply(ctx, c)
	})
}

// DeleteExercise removes the exercise from the registry with its trainees'
// directory entries, and applies c, in one transaction. From then on no
// server routes a call to its world.
func (s *Store) DeleteExercise(ctx context.Context, id string, c workflow.Change) error {
	return s.withTx(ctx, func(t *tx) error {
		db := t.db.WithContext(ctx)
		if err := db.Where("exercise_id = ?", id).Delete(&traineeRow{}).Error; err != nil {
			return err
		}
		res := db.Where("id = ?", id).Delete(&exerciseRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errExerciseNotFound
		}
		return t.Apply(ctx, c)
	})
}

// Exercise reads one registered exercise; ErrNotFound when none.
func (s *Store) Exercise(ctx context.Context, id string) (Exercise, error) {
	var row exerciseRow
	err := s.r.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if notFound(err) {
		return Exercise{}, errExerciseNotFound
	}
	if err != nil {
		return Exercise{}, s.fail(err, "load exercise")
	}
	return row.toDomain(), nil
}

// Exercises lists the registered exercises, newest first.
func (s *Store) Exercises(ctx context.Context) ([]Exercise, error) {
	var rows []exerciseRow
	if err := s.r.WithContext(ctx).Order("created_at_us DESC, id DESC").Find(&rows).Error; err != nil {
		return nil, s.fail(err, "list exercises")
	}
	out := make([]Exercise, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// TraineeByUsername finds the directory entry of a trainee account;
// ErrNotFound when the username is no trainee's.
func (s *Store) TraineeByUsername(ctx context.Context, username string) (Trainee, error) {
	var row traineeRow
	err := s.r.WithContext(ctx).Where("username = ?", normalizeUsername(username)).Take(&row).Error
	if notFound(err) {
		return Trainee{}, workflow.Errorf(workflow.ErrNotFound, "no such trainee")
	}
	if err != nil {
		return Trainee{}, s.fail(err, "load trainee")
	}
	return Trainee(row), nil
}

// Trainees lists the trainee accounts of an exercise, by username.
func (s *Store) Trainees(ctx context.Context, exerciseID string) ([]Trainee, error) {
	var rows []traineeRow
	if err := s.r.WithContext(ctx).Where("exercise_id = ?", exerciseID).Order("username").Find(&rows).Error; err != nil {
		return nil, s.fail(err, "list trainees")
	}
	out := make([]Trainee, len(rows))
	for i, r := range rows {
		out[i] = Trainee(r)
	}
	return out, nil
}

// worldName is what a world may be called: it becomes a file name or a
// PostgreSQL schema name unquoted.
var worldName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// CreateWorld makes room for the world of an exercise beside this
// database and returns the address to open it with (Options.DSN): a SQLite
// file under the exercises/ folder next to this one, or on PostgreSQL a
// schema of its own, selected by the address's search_path.
func (s *Store) CreateWorld(ctx context.Context, name string) (string, error) {
	if !worldName.MatchString(name) {
		return "", fmt.Errorf("create world: bad name %q", name)
	}
	if !s.postgres {
		dir := filepath.Join(filepath.Dir(s.path), "exercises")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("create world: %w", err)
		}
		return filepath.Join(dir, name+".db"), nil
	}
	if err := s.w.WithContext(ctx).Exec("CREATE SCHEMA IF NOT EXISTS " + name).Error; err != nil {
		return "", s.fail(err, "create world schema")
	}
	return s.WorldDSN(name)
}

// WorldDSN is the address of the world called name (see CreateWorld).
func (s *Store) WorldDSN(name string) (string, error) {
	if !worldName.MatchString(name) {
		return "", fmt.Errorf("world: bad name %q", name)
	}
	if !s.postgres {
		return filepath.Join(filepath.Dir(s.path), "exercises", name+".db"), nil
	}
	u, err := url.Parse(s.dsn)
	if err != nil {
		return "", fmt.Errorf("world: %w", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// DropWorld deletes the world called name: its file (with the WAL's) or its
// schema. Its store must be closed first.
func (s *Store) DropWorld(ctx context.Context, name string) error {
	if !worldName.MatchString(name) {
		return fmt.Errorf("drop world: bad name %q", name)
	}
	if !s.postgres {
		path := filepath.Join(filepath.Dir(s.path), "exercises", name+".db")
		var errs []error
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(path + suffix); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("drop world: %v", errs)
		}
		return nil
	}
	if err := s.w.WithContext(ctx).Exec("DROP SCHEMA IF EXISTS " + name + " CASCADE").Error; err != nil {
		return s.fail(err, "drop world schema")
	}
	return nil
}

// worldKeyPurpose derives the key that seals the exercise worlds' audit
// chains from this database's audit key.
const worldKeyPurpose = "mla-flow exercise world audit key"

// WorldAuditKey is the audit key of the exercise worlds beside this
// database: derived from its own, so that no second key file is needed
// and a world's chain is never sealed with the live chain's key.
func (s *Store) WorldAuditKey() []byte { return audit.DeriveKey(s.key, worldKeyPurpose) }
