// Package scenario reads the training scenarios: one YAML file each under
// config/scenarios/, naming the authorities of an exercise (played by
// trainees or simulated), the requests on the table at its start, the
// injects that come during it, the scripted behaviour of the simulated
// counterparts, and what the debrief scores. The files are checked
// strictly at start: every problem is reported with its file, line and
// field, and an unknown field is one. docs/SCENARIOS.md is the reference
// of the format.
package scenario
