// Package training plays what happens inside one exercise world: it puts
// a scenario's starting requests on the table (Start), makes the moves of
// the simulated authorities and the scheduled injects as the exercise clock
// reaches them (Step), applies the trainer's injects (ApplyInject), and
// reads the world back into a debrief (Debrief).
//
// Simulated authorities are actors of the world like the trainees: every
// move goes through the world's workflow.Service, with the same checks and
// the same audit entries. The package keeps no state of its own: what has
// been done is read back from the world (its requests, histories, threads
// and audit log), so that a second server, or a second call for the same
// instant, finds the move made and does not make it again. Every delay a
// bot takes is drawn from the exercise's seed, the request's reference and
// the rule, never from chance or the wall clock, so that one seed plays one
// history.
package training
