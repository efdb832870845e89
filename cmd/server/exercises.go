package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/mla-flow/mla-flow/config"
	"github.com/mla-flow/mla-flow/internal/blob"
	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/httpapi"
	"github.com/mla-flow/mla-flow/internal/jobs"
	"github.com/mla-flow/mla-flow/internal/law"
	"github.com/mla-flow/mla-flow/internal/workflow"
	"github.com/mla-flow/mla-flow/web"
)

// newExercises wires the training exercises (CONTRACT 7): the manager of
// the exercise worlds beside the live database, whose trainees get the
// ordinary API and pages over their world's service and accounts.
func newExercises(cfg config.Config, a *app, engine exercise.Engine, logger *slog.Logger) (*exercise.Manager, error) {
	instruments, err := law.Catalog()
	if err != nil {
		return nil, err
	}
	return exercise.New(exercise.Options{
		Live: a.store, Policy: a.policy, Engine: engine, Instruments: instruments,
		Blobs: func(world string) (workflow.Blobs, error) { return worldBlobs(cfg, world) }, MaxDocument: cfg.MaxDocument,
		DropBlobs: func(world string) error {
			if cfg.DocumentsS3.Bucket != "" {
				return nil // the bucket's lifecycle rules keep or expire exercises/
			}
			return os.RemoveAll(filepath.Join(cfg.DocumentsDir, "exercises", world))
		},
		TokenTTL: cfg.TokenTTL, RefreshTTL: cfg.RefreshTTL, Now: a.clock, Logger: logger,
		Routers: func(w *exercise.World) http.Handler {
			// The world's own event hub (over its outbox) serves its
			// trainees' streams, as the live hub serves live users'.
			e := httpapi.New(httpapi.Deps{Workflow: w.Service, Auth: w.Auth, Logger: logger, Idempotency: w.Store, Events: w.Events})
			web.New(web.Deps{
				Workflow: w.Service, Auth: w.Auth, Logger: logger, CSRFKey: a.webKey, Now: a.clock,
				Exercise: &web.ExerciseBanner{Title: w.Title, Now: w.Clock.Now}, Events: w.Events,
			}).Register(e)
			return e
		},
	}), nil
}

// worldBlobs is where a world keeps its documents' bytes: beside the live
// ones, under exercises/ and the world's name.
func worldBlobs(cfg config.Config, world string) (workflow.Blobs, error) {
	if b := cfg.DocumentsS3; b.Bucket != "" {
		return blob.NewS3(context.Background(), blob.S3Options{
			Endpoint: b.Endpoint, Bucket: b.Bucket, Prefix: b.Prefix + "exercises/" + world + "/", Region: b.Region,
			AccessKey: b.AccessKey, SecretKey: b.SecretKey, Insecure: b.Insecure,
		})
	}
	return blob.NewDir(filepath.Join(cfg.DocumentsDir, "exercises", world))
}

// exerciseJob steps the simulated authorities of every running exercise,
// on the server that holds the job runner's lease.
func exerciseJob(m *exercise.Manager) jobs.Job {
	return jobs.Job{Name: "exercise-step", Every: exercise.StepInterval, Run: m.Step}
}

// startExercises wires the exercises with the bundled scenarios' engine;
// nil when no engine is built in.
func startExercises(cfg config.Config, a *app, logger *slog.Logger) (*exercise.Manager, error) {
	engine, err := trainingEngine()
	if err != nil || engine == nil {
		return nil, err
	}
	return newExercises(cfg, a, engine, logger)
}
