package config

import "embed" // the instruments file and the scenarios are part of the build

// Instruments is the text of instruments.yaml: the legal instruments a
// request may rest on, with their grounds and deadline rules. internal/law
// reads it; it lives here, as data beside the other settings, so that a
// new treaty is an edit of a file and not of code.
//
//go:embed instruments.yaml
var Instruments []byte

// Scenarios holds the training scenarios that ship with the server, one
// YAML file each under scenarios/; internal/scenario reads them.
//
//go:embed scenarios/*.yaml
var Scenarios embed.FS
