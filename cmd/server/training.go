package main

import (
	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/scenario"
)

// trainingEngine is the engine of the bundled scenarios (config/scenarios),
// which are validated here, at start: a broken file stops the server with
// its file, line and field.
func trainingEngine() (exercise.Engine, error) {
	scenarios, err := scenario.Bundled()
	if err != nil {
		return nil, err
	}
	return exercise.NewTrainingEngine(scenarios), nil
}
