package main

import "github.com/mla-flow/mla-flow/internal/exercise"

// trainingEngine is the engine of the bundled scenarios.
func trainingEngine() (exercise.Engine, error) { return nil, nil }
